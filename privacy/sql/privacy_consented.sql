-- privacy_consented: whether the consumer shares their data with the merchant under the
-- consent version asked (p_consent; NULL: none is asked, MERCHANT_CONSENT_REQUIRED off):
-- a live row (not withdrawn) of that version (privacy/consent.py, decision 0333). The
-- participation functions ask it before any other check; campaigns_claim_code writes
-- it out (the hottest path pays no function call: decision 0302), so keep the two
-- alike. tests/test_claim_function.py and tests/test_submit_redeem_functions.py sweep
-- every caller.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.privacy_consented(
    p_consumer bigint, p_merchant bigint, p_consent text
) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p_consent IS NULL OR EXISTS (
        SELECT 1 FROM public.privacy_merchantconsent k
         WHERE k.user_id = p_consumer AND k.merchant_id = p_merchant
           AND k.version = p_consent AND k.withdrawn_at IS NULL)
$$;
