-- points_post: the ledger's posting in one round trip (points/ledger.py `post` calls it).
--
-- What Python decided stays in Python: the postings are validated and balanced, the
-- request hash computed, the materialised accounts' net moves summed and sorted by
-- account id (so that concurrent postings lock balances in one order and never
-- deadlock), before this is called. This function only writes, in the order the
-- ledger's rules need:
--   1. the transaction under its idempotency key (ON CONFLICT: a concurrent request
--      with the same key waits on the unique index, then finds it committed); when the
--      key is taken, nothing else is written and the existing row is returned
--      (replayed = true; txn_id NULL when the first request rolled back meanwhile);
--   2. each move as a conditional UPDATE: a balance never goes below zero; a refused
--      move raises check_violation naming account_balance_not_negative with the
--      account id as DETAIL, which rolls back the whole statement;
--   3. the entries, and the lot a wallet credit opens (when p_lot_account is given);
--   4. for a wallet debit (when p_take_account is given), the points taken from that
--      wallet's open lots, soonest to expire first, each taking recorded as a lot debit;
--      the wallet's balance row, moved above, is locked, so one transaction at a time
--      takes from a wallet's lots. Lots short of the balance (the wallet out of step)
--      raise check_violation naming lot_remaining_in_range.
-- Re-created from this file on every migrate (core/db/functions.py).
CREATE OR REPLACE FUNCTION public.points_post(
    p_kind text,
    p_key text,
    p_hash text,
    p_merchant bigint,
    p_consumer bigint,
    p_reverses bigint,
    p_memo text,
    p_metadata jsonb,
    p_now timestamptz,
    p_entry_accounts bigint[],
    p_entry_amounts bigint[],
    p_entry_consumers bigint[],
    p_move_accounts bigint[],
    p_move_amounts bigint[],
    p_lot_account bigint,
    p_lot_consumer bigint,
    p_lot_points bigint,
    p_lot_expires timestamptz,
    p_take_account bigint,
    p_take_points bigint,
    OUT txn_id bigint,
    OUT replayed boolean,
    OUT request_hash text,
    OUT balances bigint[]
) LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    moved bigint;
    lot record;
    left_to_take bigint := p_take_points;
    taken bigint;
BEGIN
    INSERT INTO public.points_transaction AS t
        (kind, idempotency_key, request_hash, merchant_id, consumer_id, reverses_id, memo,
         metadata, created_at)
    VALUES (p_kind, p_key, p_hash, p_merchant, p_consumer, p_reverses, p_memo, p_metadata, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING t.id INTO txn_id;
    IF txn_id IS NULL THEN
        replayed := true;
        SELECT t.id, t.request_hash INTO txn_id, request_hash
          FROM public.points_transaction t WHERE t.idempotency_key = p_key;
        RETURN;
    END IF;
    replayed := false;
    request_hash := p_hash;
    balances := '{}';
    FOR i IN 1 .. coalesce(array_length(p_move_accounts, 1), 0) LOOP
        UPDATE public.points_account a SET balance = a.balance + p_move_amounts[i]
         WHERE a.id = p_move_accounts[i] AND a.balance + p_move_amounts[i] >= 0
        RETURNING a.balance INTO moved;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'not enough points in account %', p_move_accounts[i]
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'account_balance_not_negative',
                      DETAIL = p_move_accounts[i]::text;
        END IF;
        balances := balances || moved;
    END LOOP;
    INSERT INTO public.points_entry (transaction_id, account_id, amount, consumer_id, created_at)
    SELECT txn_id, e.account, e.amount, e.consumer, p_now
      FROM unnest(p_entry_accounts, p_entry_amounts, p_entry_consumers)
           AS e(account, amount, consumer);
    IF p_lot_account IS NOT NULL THEN
        INSERT INTO public.points_lot
            (account_id, consumer_id, merchant_id, source_id, points, remaining, earned_at,
             expires_at)
        VALUES (p_lot_account, p_lot_consumer, p_merchant, txn_id, p_lot_points, p_lot_points,
                p_now, p_lot_expires);
    END IF;
    IF p_take_account IS NOT NULL THEN
        FOR lot IN
            SELECT l.id, l.remaining FROM public.points_lot l
             WHERE l.account_id = p_take_account AND l.remaining > 0
             ORDER BY l.expires_at, l.id
               FOR UPDATE
        LOOP
            taken := least(lot.remaining, left_to_take);
            UPDATE public.points_lot SET remaining = remaining - taken WHERE id = lot.id;
            INSERT INTO public.points_lotdebit (lot_id, transaction_id, points)
            VALUES (lot.id, txn_id, taken);
            left_to_take := left_to_take - taken;
            EXIT WHEN left_to_take = 0;
        END LOOP;
        IF left_to_take > 0 THEN
            RAISE EXCEPTION 'the lots of account % are short of % points',
                p_take_account, left_to_take
                USING ERRCODE = 'check_violation', CONSTRAINT = 'lot_remaining_in_range',
                      DETAIL = p_take_account::text;
        END IF;
    END IF;
END
$$;
