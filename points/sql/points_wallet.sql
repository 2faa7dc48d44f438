-- points_wallet: the consumer's wallet account, made on their first award.
--
-- The one place the SQL functions that pay a consumer find (or open) the wallet: the
-- prize claim (campaigns/prizes/sql/), the questionnaire's submit
-- (campaigns/questionnaires/sql/). ledger.wallet() is the same in Python. A concurrent
-- first award of the same consumer meets account_unique_owner and reads the winner's.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.points_wallet(p_consumer bigint, p_now timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_wallet bigint;
BEGIN
    SELECT a.id INTO v_wallet FROM public.points_account a
     WHERE a.kind = 'consumer_wallet' AND a.merchant_id IS NULL
       AND a.consumer_id = p_consumer AND a.ref = '';
    IF NOT FOUND THEN
        INSERT INTO public.points_account (kind, consumer_id, ref, balance, materialized, created_at)
        VALUES ('consumer_wallet', p_consumer, '', 0, true, p_now)
        ON CONFLICT ON CONSTRAINT account_unique_owner DO NOTHING;
        SELECT a.id INTO v_wallet FROM public.points_account a
         WHERE a.kind = 'consumer_wallet' AND a.merchant_id IS NULL
           AND a.consumer_id = p_consumer AND a.ref = '';
    END IF;
    RETURN v_wallet;
END
$$;
