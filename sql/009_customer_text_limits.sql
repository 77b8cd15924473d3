-- Customers' free text gets the length limits the ingest validator applies (predelinquency.ingest.schemas):
-- a longer name does not fit a btree entry of customers_name_idx, and no real name or region is this long.
ALTER TABLE customers
    ADD CONSTRAINT customers_full_name_length CHECK (char_length(full_name) <= 200),
    ADD CONSTRAINT customers_region_length CHECK (char_length(region) <= 100);
