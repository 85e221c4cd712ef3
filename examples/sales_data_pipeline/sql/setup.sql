-- Setup: the warehouse's tables and the sample rows the pipeline starts from.
--
-- Every table is created only when it does not exist yet, and sample rows go only into a table
-- that is still empty: a rerun leaves the dimensions' history (SCD type 2 versions) alone, and
-- staging data changed between runs stays as it was changed.

-- The star schema (TPC-DS's tables, cut down to the columns the pipeline uses).
create table if not exists customer
( c_customer_sk     int4     not null encode az64
, c_customer_id     char(16) not null encode zstd
, c_current_addr_sk int4              encode az64
, c_first_name      char(20)          encode zstd
, c_last_name       char(30)          encode zstd
, primary key (c_customer_sk)
) distkey(c_customer_sk);

create table if not exists customer_address
( ca_address_sk int4        not null encode az64
, ca_address_id char(16)    not null encode zstd
, ca_state      char(2)              encode zstd
, ca_zip        char(10)             encode zstd
, ca_country    varchar(20)          encode zstd
, primary key (ca_address_sk)
) distkey(ca_address_sk);

create table if not exists date_dim
( d_date_sk  int4     not null encode az64
, d_date_id  char(16) not null encode zstd
, d_date     date              encode az64
, d_day_name char(9)           encode zstd
, primary key (d_date_sk)
) diststyle all;

create table if not exists item
( i_item_sk        int4         not null encode az64
, i_item_id        char(16)     not null encode zstd
, i_rec_start_date date                  encode az64
, i_rec_end_date   date                  encode az64
, i_current_price  numeric(7,2)          encode az64
, i_category       char(50)              encode zstd
, i_product_name   char(50)              encode zstd
, primary key (i_item_sk)
) distkey(i_item_sk) sortkey(i_category);

create table if not exists store_sales
( ss_sold_date_sk  int4         encode az64
, ss_item_sk       int4         not null encode az64
, ss_customer_sk   int4         encode az64
, ss_addr_sk       int4         encode az64
, ss_store_sk      int4         encode az64
, ss_ticket_number int8         not null encode az64
, ss_quantity      int4         encode az64
, ss_net_paid      numeric(7,2) encode az64
, ss_net_profit    numeric(7,2) encode az64
, primary key (ss_item_sk, ss_ticket_number)
) distkey(ss_item_sk) sortkey(ss_sold_date_sk);

-- The source system's extract, as the dimension and fact loads read it. BACKUP NO: it can be
-- extracted again, so snapshots need not keep it.
create table if not exists stg_customer_address
( ca_address_id varchar(16)
, ca_state      varchar(2)
, ca_zip        varchar(10)
, ca_country    varchar(20)
) backup no diststyle even;

create table if not exists stg_item
( i_item_id       varchar(16)
, i_current_price numeric(7,2)
, i_category      varchar(50)
, i_product_name  varchar(50)
) backup no diststyle even;

create table if not exists stg_store_sales
( sold_date        date
, i_item_id        varchar(16)
, c_customer_id    varchar(16)
, ca_address_id    varchar(16)
, ss_ticket_number int8
, ss_quantity      int4
, ss_net_paid      numeric(7,2)
, ss_net_profit    numeric(7,2)
) backup no diststyle even;

-- Sample rows. Redshift has no `select ... from (values ...)`, so each table's rows go into a
-- temporary copy of it first, and from there into the table only if the table is empty.

create temp table seed_customer (like customer);
insert into seed_customer values
  (1001, 'CUSTOMER00000001', 101, 'Maria', 'Garcia')
, (1002, 'CUSTOMER00000002', 102, 'James', 'Smith')
, (1003, 'CUSTOMER00000003', 103, 'Wei', 'Zhang')
, (1004, 'CUSTOMER00000004', 102, 'Olivia', 'Brown');
insert into customer select * from seed_customer where not exists (select 1 from customer);

create temp table seed_customer_address (like customer_address);
insert into seed_customer_address values
  (101, 'ADDRESS000000001', 'NE', '68101', 'United States')
, (102, 'ADDRESS000000002', 'SD', '57501', 'United States')
, (103, 'ADDRESS000000003', 'CA', '94105', 'United States');
insert into customer_address
  select * from seed_customer_address where not exists (select 1 from customer_address);

-- The first week of 2003; d_date_sk is TPC-DS's day number (2452641 is 2003-01-01).
create temp table seed_date_dim (like date_dim);
insert into seed_date_dim values
  (2452641, 'DATE000002452641', '2003-01-01', 'Wednesday')
, (2452642, 'DATE000002452642', '2003-01-02', 'Thursday')
, (2452643, 'DATE000002452643', '2003-01-03', 'Friday')
, (2452644, 'DATE000002452644', '2003-01-04', 'Saturday')
, (2452645, 'DATE000002452645', '2003-01-05', 'Sunday')
, (2452646, 'DATE000002452646', '2003-01-06', 'Monday')
, (2452647, 'DATE000002452647', '2003-01-07', 'Tuesday');
insert into date_dim select * from seed_date_dim where not exists (select 1 from date_dim);

-- Every item has one version, current (no end date), since before the sample's sales.
create temp table seed_item (like item);
insert into seed_item values
  (501, 'ITEM000000000001', '2001-10-27', null, 14.29, 'Electronics', 'portable radio')
, (502, 'ITEM000000000002', '2001-10-27', null, 2.95, 'Electronics', 'usb cable')
, (503, 'ITEM000000000003', '2002-03-12', null, 9.68, 'Home', 'table lamp')
, (504, 'ITEM000000000004', '2002-03-12', null, 3.85, 'Home', 'scented candle')
, (505, 'ITEM000000000005', '2002-06-01', null, 2.10, 'Men', 'wool socks')
, (506, 'ITEM000000000006', '2002-06-01', null, 12.60, 'Jewelry', 'silver ring');
insert into item select * from seed_item where not exists (select 1 from item);

-- The extract: address 2 moved to another zip code, address 3 is unchanged, 4 and 5 are new.
create temp table seed_stg_customer_address (like stg_customer_address);
insert into seed_stg_customer_address values
  ('ADDRESS000000002', 'SD', '57701', 'United States')
, ('ADDRESS000000003', 'CA', '94105', 'United States')
, ('ADDRESS000000004', 'OK', '74103', 'United States')
, ('ADDRESS000000005', 'AL', '35203', 'United States');
insert into stg_customer_address
  select * from seed_stg_customer_address
  where not exists (select 1 from stg_customer_address);

-- Item 1's price changed (a new version), item 2 is unchanged, item 3 kept its price but was
-- renamed and moved to another category (corrected in place), items 7 and 8 are new.
create temp table seed_stg_item (like stg_item);
insert into seed_stg_item values
  ('ITEM000000000001', 15.99, 'Electronics', 'portable radio')
, ('ITEM000000000002', 2.95, 'Electronics', 'usb cable')
, ('ITEM000000000003', 9.68, 'Lighting', 'desk lamp')
, ('ITEM000000000007', 4.10, 'Books', 'travel guide')
, ('ITEM000000000008', 29.30, 'Books', 'cookbook');
insert into stg_item select * from seed_stg_item where not exists (select 1 from stg_item);

-- Sales of 2003-01-02 (the default run date), which sell the new items and ship to the new
-- addresses, and of 2003-01-01 (to backfill), which sell items as they were that day.
create temp table seed_stg_store_sales (like stg_store_sales);
insert into seed_stg_store_sales values
  ('2003-01-02', 'ITEM000000000001', 'CUSTOMER00000001', 'ADDRESS000000001', 1001, 2, 31.98, 6.40)
, ('2003-01-02', 'ITEM000000000003', 'CUSTOMER00000001', 'ADDRESS000000001', 1001, 1, 9.68, 2.90)
, ('2003-01-02', 'ITEM000000000007', 'CUSTOMER00000002', 'ADDRESS000000002', 1002, 3, 12.30, 3.69)
, ('2003-01-02', 'ITEM000000000002', 'CUSTOMER00000002', 'ADDRESS000000002', 1002, 4, 11.80, -1.20)
, ('2003-01-02', 'ITEM000000000008', 'CUSTOMER00000003', 'ADDRESS000000003', 1003, 1, 29.30, 8.79)
, ('2003-01-02', 'ITEM000000000005', 'CUSTOMER00000004', 'ADDRESS000000004', 1004, 6, 12.60, 1.26)
, ('2003-01-02', 'ITEM000000000006', 'CUSTOMER00000004', 'ADDRESS000000004', 1004, 1, 12.60, -0.50)
, ('2003-01-02', 'ITEM000000000004', 'CUSTOMER00000003', 'ADDRESS000000005', 1005, 2, 7.70, 1.54)
, ('2003-01-01', 'ITEM000000000001', 'CUSTOMER00000002', 'ADDRESS000000002', 901, 1, 14.29, 2.86)
, ('2003-01-01', 'ITEM000000000003', 'CUSTOMER00000003', 'ADDRESS000000003', 902, 2, 19.36, 5.81)
, ('2003-01-01', 'ITEM000000000006', 'CUSTOMER00000001', 'ADDRESS000000001', 903, 1, 12.60, 3.78);
insert into stg_store_sales
  select * from seed_stg_store_sales where not exists (select 1 from stg_store_sales);
