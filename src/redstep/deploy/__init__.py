"""Taking a project to AWS: a CloudFormation template written from it, and its deployment.

calls.py        what the project's code asks of AWS: each state machine's tasks, each
                function's boto3 calls, and the Redshift they all reach
sources.py      the boto3 calls in a function's Python source, read without running it
target.py       the Redshift the stack runs on: a cluster or a Serverless workgroup
definitions.py  a definition as CloudFormation deploys it: SQL inlined, names of the
                project's own functions, machines, buckets and Redshift made substitutions
policies.py     least-privilege IAM statements for those calls
packages.py     a function's deployment package: its files, its requirements, its S3 key
names.py        the template's logical ids and parameter names for the project's things
template.py     the template itself
stack.py        the deployment: uploads, a change set, the stack's events until it settles
errors.py       ExportError and DeployError
"""
