-- customer_address, as a slowly changing dimension of type 1: an address the extract
-- (stg_customer_address) changed is overwritten in place, a new one is added with the next
-- surrogate keys. Running it again with the same extract changes nothing.

-- A run date the warehouse's calendar does not know (a typo, a day beyond date_dim) would load
-- nothing and date nothing right: stop (division by zero) before any table changes.
select 1 / count(1) as is_known_run_date
  from date_dim
 where d_date = cast(:run_date as date);

-- Changed addresses: overwrite their attributes (nvl: a null is a value that can change too).
update customer_address
   set ca_state = stg.ca_state
     , ca_zip = stg.ca_zip
     , ca_country = stg.ca_country
  from stg_customer_address stg
 where customer_address.ca_address_id = stg.ca_address_id
   and (   nvl(customer_address.ca_state, '') <> nvl(stg.ca_state, '')
        or nvl(customer_address.ca_zip, '') <> nvl(stg.ca_zip, '')
        or nvl(customer_address.ca_country, '') <> nvl(stg.ca_country, ''));

-- New addresses: surrogate keys go on from the largest one, in the order of the business keys.
insert into customer_address (ca_address_sk, ca_address_id, ca_state, ca_zip, ca_country)
with last_key as (
  select nvl(max(ca_address_sk), 0) as ca_address_sk from customer_address
)
select last_key.ca_address_sk + row_number() over (order by stg.ca_address_id)
     , stg.ca_address_id
     , stg.ca_state
     , stg.ca_zip
     , stg.ca_country
  from stg_customer_address stg
 cross join last_key
 where not exists (
         select 1 from customer_address where customer_address.ca_address_id = stg.ca_address_id
       );
