-- A large, deterministic workload for the sales data pipeline: `redstep example generate`.
--
-- Data API parameters (bound as values, never pasted in):
--   :scale     millions of staging sales rows; fractions allowed (0.01 is 10,000 rows)
--   :seed      a whole number from 0 to 2^31 - 1; one seed gives the same rows on every engine
--   :run_date  the day every generated sale is sold on (YYYY-MM-DD), a day of date_dim
--
-- It replaces the staging tables' contents: sales (stg_store_sales), and the items (stg_item) and
-- addresses (stg_customer_address) they refer to, which the pipeline's dimension loads insert.
-- The pipeline loads no customers, so the customers the sales refer to are written to `customer`
-- itself, replacing those an earlier generation wrote. Sample rows from setup.sql stay. The
-- dimensions are proportionate to the sales, near TPC-DS's ratios: per 200 sales one item, per
-- 50 one address, per 25 one customer.
--
-- Rows are made here, set-based: a cross join of eight digit tables numbers them (up to 10^8),
-- and every value is arithmetic on the row's number and the seed, so DuckDB, PostgreSQL and
-- Redshift produce the same rows: no random(), no dependence on row order. A digit position is
-- kept to 0 once it alone would reach the row count, so 10,000 rows do not build 10^8 first;
-- the count is a scalar subquery so that each engine applies those filters to the digit tables
-- before joining them. The numbers and the counts are made once, in temporary tables, which go
-- with the call's session.
--
-- Generated ids are 'GEN' followed by 13 digits (10^12 + the number): 16 characters, apart from
-- the sample rows' ids (CUSTOMER..., ADDRESS..., ITEM...), and made by addition rather than
-- lpad(), which costs several seconds at 10 million rows. Ids are numbered from 1 whatever the
-- seed; the seed changes attributes (prices, states, zips, names) and which sale refers to
-- which item, customer and address, so a second generation with another seed makes the
-- dimension loads update (SCD type 1) and add versions (SCD type 2).

delete from stg_store_sales;
delete from stg_item;
delete from stg_customer_address;
delete from customer where c_customer_id like 'GEN%';

-- How many of each, from the scale; and the seed and the run date, as values.
create temp table sizes as
select cast(round(cast(:scale as float8) * 1000000) as int8) as sales,
       (cast(round(cast(:scale as float8) * 1000000) as int8) + 199) / 200 as items,
       (cast(round(cast(:scale as float8) * 1000000) as int8) + 49) / 50 as addresses,
       (cast(round(cast(:scale as float8) * 1000000) as int8) + 24) / 25 as customers,
       cast(:seed as int8) as seed,
       cast(:run_date as date) as run_date,
       cast(datediff(day, cast('1900-01-01' as date), cast(:run_date as date)) as int8)
           * 1000000000 + 1 as first_ticket;

-- The numbers 0 to sales - 1: the sales are the most numerous, every other table takes a prefix.
create temp table numbers as
with digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
)
select n
from (
    select cast(d0.d as int8) + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d
           + 100000 * d5.d + 1000000 * d6.d + 10000000 * d7.d as n
    from digits d0 cross join digits d1 cross join digits d2 cross join digits d3
    cross join digits d4 cross join digits d5 cross join digits d6 cross join digits d7
    where d1.d * 10 < (select sales from sizes) and d2.d * 100 < (select sales from sizes)
      and d3.d * 1000 < (select sales from sizes) and d4.d * 10000 < (select sales from sizes)
      and d5.d * 100000 < (select sales from sizes)
      and d6.d * 1000000 < (select sales from sizes)
      and d7.d * 10000000 < (select sales from sizes)
) numbered
where n < (select sales from sizes);

-- Items: the category depends on the item alone; the price, 1.00 to 499.99, on the seed too.
insert into stg_item (i_item_id, i_current_price, i_category, i_product_name)
select 'GEN' || cast(1000000000001 + n as varchar),
       cast((100 + mod(n * 7919 + seed * 104729, 49900)) * 0.01 as numeric(7, 2)),
       case mod(n, 10)
           when 0 then 'Books' when 1 then 'Children' when 2 then 'Electronics'
           when 3 then 'Home' when 4 then 'Jewelry' when 5 then 'Men' when 6 then 'Music'
           when 7 then 'Shoes' when 8 then 'Sports' else 'Women'
       end,
       'product ' || cast(n + 1 as varchar)
from numbers cross join sizes
where n < sizes.items;

-- Addresses: state and zip depend on the seed.
insert into stg_customer_address (ca_address_id, ca_state, ca_zip, ca_country)
select 'GEN' || cast(1000000000001 + n as varchar),
       case mod(n * 7 + seed, 10)
           when 0 then 'CA' when 1 then 'TX' when 2 then 'NY' when 3 then 'WA' when 4 then 'IL'
           when 5 then 'GA' when 6 then 'OH' when 7 then 'MI' when 8 then 'TN' else 'VA'
       end,
       cast(10000 + mod(n * 7907 + seed * 131, 90000) as varchar),
       'United States'
from numbers cross join sizes
where n < sizes.addresses;

-- Customers, straight into the dimension. The sk is 10^9 + the number, far above the sample
-- customers', and the same whatever the seed, so a fact row written after an earlier
-- generation still finds its customer. The current address stays unknown (null): an address's
-- sk is only given out by the pipeline's address load, after this.
insert into customer (c_customer_sk, c_customer_id, c_current_addr_sk, c_first_name, c_last_name)
select cast(1000000001 + n as int4),
       'GEN' || cast(1000000000001 + n as varchar),
       cast(null as int4),
       case mod(n * 3 + seed, 10)
           when 0 then 'James' when 1 then 'Mary' when 2 then 'Robert' when 3 then 'Patricia'
           when 4 then 'John' when 5 then 'Jennifer' when 6 then 'Michael' when 7 then 'Linda'
           when 8 then 'David' else 'Elizabeth'
       end,
       case mod(n * 7 + seed * 3, 10)
           when 0 then 'Smith' when 1 then 'Johnson' when 2 then 'Williams' when 3 then 'Brown'
           when 4 then 'Jones' when 5 then 'Garcia' when 6 then 'Miller' when 7 then 'Davis'
           when 8 then 'Rodriguez' else 'Martinez'
       end
from numbers cross join sizes
where n < sizes.customers;

-- Sales. Each refers to a generated item, customer and address: its number scattered by a
-- multiplication modulo the prime 2^31 - 1, then taken modulo their count, so every one of them
-- exists (the items and addresses once the dimension loads ran). Quantities are 1 to 100, net
-- paid 1.00 to 19,999.99, net profit -4,000.00 to 5,999.99. A ticket number is the day's
-- number since 1900 times 10^9 plus the row's, so sales generated for several days never share
-- the fact table's key (item, ticket).
insert into stg_store_sales (sold_date, i_item_id, c_customer_id, ca_address_id,
                             ss_ticket_number, ss_quantity, ss_net_paid, ss_net_profit)
select run_date,
       'GEN' || cast(1000000000001 + mod(mod(n * 48271 + seed, 2147483647), items) as varchar),
       'GEN' || cast(1000000000001 + mod(mod(n * 69621 + seed * 3, 2147483647), customers)
                     as varchar),
       'GEN' || cast(1000000000001 + mod(mod(n * 16807 + seed * 7, 2147483647), addresses)
                     as varchar),
       first_ticket + n,
       cast(1 + mod(n * 31 + seed, 100) as int4),
       cast((100 + mod(n * 7013 + seed * 17, 1999900)) * 0.01 as numeric(7, 2)),
       cast((mod(n * 3571 + seed * 11, 1000000) - 400000) * 0.01 as numeric(7, 2))
from numbers cross join sizes
where n < sizes.sales;

-- What was generated, for the command to print.
select table_name, row_count
from (
    select 1 as position, 'stg_store_sales' as table_name, count(*) as row_count
    from stg_store_sales
    union all
    select 2, 'stg_item', count(*) from stg_item
    union all
    select 3, 'stg_customer_address', count(*) from stg_customer_address
    union all
    select 4, 'customer (generated)', count(*) from customer where c_customer_id like 'GEN%'
) counts
order by position;
