"""Taking a project to AWS: a CloudFormation template written from it, and its deployment.

calls.py        what the project's code asks of AWS: each state machine's tasks, each
                function's boto3 calls, and the Redshift they all reach
definitions.py  a definition as CloudFormation deploys it: SQL inlined, names of the
                project's own functions, machines, buckets and Redshift made substitutions
policies.py     least-privilege IAM statements for those calls
packages.py     a function's deployment package: its files, its requirements, its S3 key
template.py     the template itself
stack.py        the deployment: uploads, a change set, the stack's events until it settles
"""
