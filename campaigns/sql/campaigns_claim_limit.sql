-- campaigns_claim_limit: whether a consumer's claim stays within the campaign's
-- per-consumer limits (Campaign.max_claims_per_consumer, max_claims_per_day).
--
-- NULL when it does (or the campaign has none); else 'campaign_limit' or 'daily_limit'.
-- With a limit, the consumer's claims on the campaign take turns first, on an advisory
-- lock held until the transaction ends, so that two concurrent claims cannot both see
-- room for one. Called by the prize claim (campaigns/prizes/sql/) with the search path
-- on the merchant's schema; the fixed-points claim keeps its own copy inline (one call
-- less on the hottest path, decision 0302).
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_claim_limit(
    p_schema text,
    p_campaign bigint,
    p_consumer bigint,
    p_now timestamptz,
    p_max_total integer,
    p_max_day integer
) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF p_max_total IS NULL AND p_max_day IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(
        'claim-limit:' || p_schema || ':' || p_campaign || ':' || p_consumer, 0));
    IF p_max_total IS NOT NULL AND p_max_total <= (
        SELECT count(*) FROM campaigns_claim k
         WHERE k.campaign_id = p_campaign AND k.consumer_id = p_consumer) THEN
        RETURN 'campaign_limit';
    END IF;
    IF p_max_day IS NOT NULL AND p_max_day <= (
        SELECT count(*) FROM campaigns_claim k
         WHERE k.campaign_id = p_campaign AND k.consumer_id = p_consumer
           AND k.claimed_at > p_now - interval '1 day') THEN
        RETURN 'daily_limit';
    END IF;
    RETURN NULL;
END
$$;
