-- item, as a slowly changing dimension of type 2 on the price: each version of an item holds
-- from i_rec_start_date (included) to i_rec_end_date (excluded; null while it is current).
-- A new price closes the current version on the run date and opens a new one from that day;
-- category and product name are type 1 attributes, corrected in place on the current version.
-- Running it again for the same date and extract (stg_item) changes nothing.
--
-- A backfill (a run date before the day an item's current version began) cannot give that item
-- a new price: it would end the current version before it begins, and open another from the
-- run date on, overlapping it. Such a run fails (division by zero) before any table changes: the
-- past's prices are not rewritten here. A backfill's category and name corrections apply to the
-- current version, as on any run (closed versions keep theirs): the extract says what an item
-- is called now, and type 1 attributes carry no dates.

-- A run date the warehouse's calendar does not know (a typo, a day beyond date_dim) would date
-- versions wrongly for good: stop (division by zero) before any table changes.
select 1 / count(1) as is_known_run_date
  from date_dim
 where d_date = cast(:run_date as date);

-- A new price for an item whose current version began after the run date (see above): stop
-- (division by zero) before any table changes.
select 1 / (case when count(*) > 0 then 0 else 1 end) as has_no_new_price_before_current
  from item
  join stg_item stg
    on item.i_item_id = stg.i_item_id
 where item.i_rec_end_date is null
   and item.i_current_price <> stg.i_current_price
   and item.i_rec_start_date > cast(:run_date as date);

-- Same price, other category or name: correct the current version.
update item
   set i_category = stg.i_category
     , i_product_name = stg.i_product_name
  from stg_item stg
 where item.i_item_id = stg.i_item_id
   and item.i_rec_end_date is null
   and item.i_current_price = stg.i_current_price
   and (   nvl(item.i_category, '') <> nvl(stg.i_category, '')
        or nvl(item.i_product_name, '') <> nvl(stg.i_product_name, ''));

-- Another price: the current version ends on the run date...
update item
   set i_rec_end_date = cast(:run_date as date)
  from stg_item stg
 where item.i_item_id = stg.i_item_id
   and item.i_rec_end_date is null
   and item.i_current_price <> stg.i_current_price;

-- ...and every item of the extract left without a current version (those just closed, and
-- items never seen before) gets one from the run date, its surrogate key going on from the
-- largest one in the order of the business keys.
insert into item
  (i_item_sk, i_item_id, i_rec_start_date, i_current_price, i_category, i_product_name)
with last_key as (
  select nvl(max(i_item_sk), 0) as i_item_sk from item
)
select last_key.i_item_sk + row_number() over (order by stg.i_item_id)
     , stg.i_item_id
     , cast(:run_date as date)
     , stg.i_current_price
     , stg.i_category
     , stg.i_product_name
  from stg_item stg
 cross join last_key
 where not exists (
         select 1
           from item
          where item.i_item_id = stg.i_item_id
            and item.i_rec_end_date is null
       );
