-- Checks on the run date's sales. Redshift has no statement that raises an error at will
-- outside a stored procedure, so each check divides by zero when it fails, which fails the
-- whole batch.

-- The run date has sales (count(1) is 0 otherwise).
select 1 / count(1) as has_sales
  from store_sales
 where ss_sold_date_sk in (select d_date_sk from date_dim where d_date = cast(:run_date as date));

-- Every one of them sold a positive quantity (a null one is not).
select 1 / min(case when ss_quantity > 0 then 1 else 0 end) as has_positive_quantities
  from store_sales
 where ss_sold_date_sk in (select d_date_sk from date_dim where d_date = cast(:run_date as date));
