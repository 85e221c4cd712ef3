-- store_sales for the run date: that day's rows are replaced by the extract's sales of that day
-- (stg_store_sales), so running it again, or for an earlier day (a backfill), is safe.

delete from store_sales
 where ss_sold_date_sk in (select d_date_sk from date_dim where d_date = cast(:run_date as date));

-- Each sale takes the surrogate keys its business keys had on the day of the sale: the item's
-- version current then, which for a backfill may be one closed since. The dimensions are
-- outer joined so that a sale of an unknown item fails the load (ss_item_sk is not null)
-- instead of vanishing.
insert into store_sales
  ( ss_sold_date_sk, ss_item_sk, ss_customer_sk, ss_addr_sk
  , ss_ticket_number, ss_quantity, ss_net_paid, ss_net_profit )
select date_dim.d_date_sk
     , item.i_item_sk
     , customer.c_customer_sk
     , customer_address.ca_address_sk
     , stg.ss_ticket_number
     , stg.ss_quantity
     , stg.ss_net_paid
     , stg.ss_net_profit
  from stg_store_sales stg
  join date_dim
    on date_dim.d_date = stg.sold_date
  left join item
    on item.i_item_id = stg.i_item_id
   and item.i_rec_start_date <= stg.sold_date
   and (item.i_rec_end_date is null or stg.sold_date < item.i_rec_end_date)
  left join customer
    on customer.c_customer_id = stg.c_customer_id
  left join customer_address
    on customer_address.ca_address_id = stg.ca_address_id
 where stg.sold_date = cast(:run_date as date);
