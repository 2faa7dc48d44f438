-- campaigns_submit_response: a questionnaire's submit in one round trip
-- (campaigns/questionnaires/services.py, decision 0150).
--
-- One statement, so in autocommit it is its own transaction, as the scan claim's
-- (campaigns/scan/sql/campaigns_claim_code.sql). Python keeps what needs no database
-- (the idempotency key's shape, the answers checked against the version's questions)
-- and the wording of every refusal; this function does what must happen together, in
-- the order the Python submit checked it:
--   1. the merchant (public): unknown or not provisioned -> 'unknown' (NOT_FOUND); the
--      consumer's consent to share with it (p_consent, the version privacy.consent asks;
--      NULL: not asked) not on record -> 'consent' (Python records it when the same tap
--      gave it and calls again, or raises MERCHANT_CONSENT_REQUIRED:
--      privacy.consent.participate);
--   2. the search path on the merchant's schema, for this function only;
--   3. the questionnaire with its campaign: none -> 'unknown'; the consumer's earlier
--      response -> 'responded' (Python answers a replay or ALREADY_RESPONDED); the
--      merchant not active -> 'merchant' (Merchant.ensure_can_award's error); the
--      reserve spent -> 'exhausted' (BUDGET_EXHAUSTED); the campaign not claimable ->
--      'campaign' (Campaign.ensure_claimable's error: tests/test_submit_function.py
--      sweeps both); the answers checked against another version than the live one
--      (p_version) -> 'version', with the live version's questions, for Python to
--      check the answers against and call again;
--   4. the consumer's own reserve bucket (Questionnaire.reserve_ref of bucket
--      consumer % the buckets the cap fills), locked when it can still pay; when it
--      cannot -> 'slow' (near the cap: Python tries each bucket in turn, decision 0146);
--   5. the reward posted by points_post from that bucket to the wallet, opening a lot
--      that expires after the merchant's expiry days; its key already posted ->
--      'existing' (Python answers from the first response);
--   6. the response (a concurrent one of the same consumer violates response_once and
--      rolls the whole statement back: Python answers from the first response).
-- Every outcome but 'submitted' is decided before the first write.
-- Lock order (decision 0318, the campaign's end takes the same): the campaign's row and
-- the questionnaire's, then the bucket, then the wallet. Step 3 reads the two FOR KEY
-- SHARE (the response's foreign key takes the campaign's anyway), in that order (the
-- order of OF): a submit waits there for an end in progress and reads what it wrote, and
-- an end waits for the submits in flight, instead of each holding what the other needs.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.campaigns_submit_response(
    p_merchant bigint,
    p_campaign bigint,
    p_consumer bigint,
    p_key text,
    p_version bigint,
    p_answers jsonb,
    p_now timestamptz,
    p_buckets integer,
    p_consent text,
    OUT outcome text,
    OUT campaign_name text,
    OUT campaign_status text,
    OUT starts_at timestamptz,
    OUT ends_at timestamptz,
    OUT questionnaire_id bigint,
    OUT max_rewarded integer,
    OUT version_id bigint,
    OUT version_number integer,
    OUT questions text,
    OUT points integer,
    OUT response_id bigint,
    OUT txn_id bigint,
    OUT balance bigint,
    OUT bucket_left bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_schema text;
    v_status text;
    v_expiry_days integer;
    v_path text := current_setting('search_path');
    v_exhausted timestamptz;
    v_previous bigint;
    v_bucket bigint;
    v_wallet bigint;
    v_key text;
    v_post record;
BEGIN
    SELECT m.schema_name, m.status, m.points_expiry_days
      INTO v_schema, v_status, v_expiry_days
      FROM public.tenants_merchant m
     WHERE m.id = p_merchant AND m.provisioned_at IS NOT NULL;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    -- The consumer's consent to share with the merchant (PIPL art. 23, decision 0333),
    -- before any other check, as when Python checked it first; the merchant's own row is
    -- all that was read.
    IF NOT public.privacy_consented(p_consumer, p_merchant, p_consent) THEN
        outcome := 'consent';
        RETURN;
    END IF;
    -- The statements below name no schema: they are planned for the merchant's (a
    -- cached plan is re-planned when the search path differs from its own).
    PERFORM set_config('search_path', quote_ident(v_schema) || ', public', true);

    SELECT c.name, c.status, c.starts_at, c.ends_at, q.id, q.points_per_response,
           q.max_rewarded_responses, q.exhausted_at, v.id, v.number, r.id
      INTO campaign_name, campaign_status, starts_at, ends_at, questionnaire_id, points,
           max_rewarded, v_exhausted, version_id, version_number, v_previous
      FROM campaigns_campaign c
      JOIN campaigns_questionnaire q ON q.campaign_id = c.id
      -- Every committed questionnaire has its version (Questionnaire.live_version).
      JOIN campaigns_questionnaireversion v ON v.id = q.current_version_id
      LEFT JOIN campaigns_response r ON r.campaign_id = c.id AND r.consumer_id = p_consumer
     WHERE c.id = p_campaign AND c.kind = 'questionnaire'
       FOR KEY SHARE OF c, q;
    IF NOT FOUND THEN
        outcome := 'unknown';
    ELSIF v_previous IS NOT NULL THEN
        outcome := 'responded';
    ELSIF v_status <> 'active' THEN
        outcome := 'merchant';
    ELSIF v_exhausted IS NOT NULL THEN
        outcome := 'exhausted';
    ELSIF NOT public.campaigns_claimable(campaign_status, starts_at, ends_at, p_now) THEN
        outcome := 'campaign';
    ELSIF p_version IS DISTINCT FROM version_id THEN
        outcome := 'version';
        SELECT v.questions::text INTO questions
          FROM campaigns_questionnaireversion v WHERE v.id = version_id;
    END IF;
    IF outcome IS NULL THEN
        -- Bucket b funds the units b, b + N, …: with a cap under N, only the first
        -- cap buckets hold anything (campaigns/reserves.bucket_sizes).
        SELECT a.id INTO v_bucket FROM public.points_account a
         WHERE a.kind = 'campaign_reserve' AND a.merchant_id = p_merchant
           AND a.consumer_id IS NULL
           AND a.ref = 'survey:' || questionnaire_id || ':'
                       || p_consumer % least(max_rewarded, p_buckets)
           AND a.balance >= points
           FOR UPDATE;
        IF NOT FOUND THEN
            outcome := 'slow';
        END IF;
    END IF;
    IF outcome IS NOT NULL THEN
        PERFORM set_config('search_path', v_path, true);
        RETURN;
    END IF;

    v_wallet := public.points_wallet(p_consumer, p_now);
    -- The ledger's key of this consumer's reward, whichever bucket pays it.
    v_key := 'survey:' || v_schema || ':' || p_campaign || ':' || p_consumer;
    SELECT * INTO v_post FROM public.points_post(
        'award', v_key,
        encode(sha256(convert_to(
            'award:' || v_key || ':' || v_bucket || ':' || points, 'UTF8')), 'hex'),
        p_merchant, p_consumer, NULL, left(campaign_name, 200),
        jsonb_build_object('campaign', p_campaign),
        p_now,
        ARRAY[v_bucket, v_wallet], ARRAY[-points, points]::bigint[], ARRAY[NULL, p_consumer],
        CASE WHEN v_bucket < v_wallet THEN ARRAY[v_bucket, v_wallet]
             ELSE ARRAY[v_wallet, v_bucket] END,
        CASE WHEN v_bucket < v_wallet THEN ARRAY[-points, points]::bigint[]
             ELSE ARRAY[points, -points]::bigint[] END,
        v_wallet, p_consumer, points, p_now + make_interval(days => v_expiry_days),
        NULL, NULL);
    IF v_post.replayed THEN
        -- The same consumer's concurrent submit was paid (from another bucket, the
        -- slow way): its response stands. Nothing was written here.
        outcome := 'existing';
        PERFORM set_config('search_path', v_path, true);
        RETURN;
    END IF;
    txn_id := v_post.txn_id;
    balance := v_post.balances[CASE WHEN v_bucket < v_wallet THEN 2 ELSE 1 END];
    bucket_left := v_post.balances[CASE WHEN v_bucket < v_wallet THEN 1 ELSE 2 END];
    INSERT INTO campaigns_response
        (campaign_id, version_id, consumer_id, answers, points, transaction_id, idempotency_key,
         submitted_at)
    VALUES (p_campaign, version_id, p_consumer, p_answers, points, txn_id, p_key, p_now)
    RETURNING id INTO response_id;
    outcome := 'submitted';
    PERFORM set_config('search_path', v_path, true);
END
$$;
