-- accounts_mask_phone: a phone as merchants may see it (+86138****5678), for a statement
-- that writes what a merchant reads without the user's row in Python: the claim's
-- code.claimed event, whose consumer the claim's gate admits without reading the user
-- (campaigns/scan/sql/campaigns_claim_code.sql, decision 0345).
--
-- accounts.models.mask_phone is the rule; this is its copy in SQL, kept alike by
-- accounts/tests/test_mask_phone.py (every length, with and without a country code).
-- NULL is masked as '' is (User.masked_phone: ``phone or ""``).
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.accounts_mask_phone(p_phone text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(coalesce(p_phone, '')) < 8
                THEN repeat('*', length(coalesce(p_phone, '')))
                ELSE left(p_phone, -8) || '****' || right(p_phone, 4) END
$$;
