-- OCS schema, version 1.
-- Applied by scripts/migrate (and the test fixture) inside one transaction.
-- Money columns are bigint minor units of the account's currency.

CREATE TABLE schema_version (
  version    integer     NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE currencies (
  code     char(3)  PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
  exponent smallint NOT NULL DEFAULT 2 CHECK (exponent BETWEEN 0 AND 4)
);
INSERT INTO currencies (code, exponent) VALUES ('EUR', 2), ('USD', 2), ('GBP', 2), ('JPY', 0);

---------------------------------------------------------------------------
-- Policies: the PortaBilling "Gy" attribute list, rate limits, hotlining.
---------------------------------------------------------------------------
CREATE TABLE policies (
  id                                bigserial PRIMARY KEY,
  name                              text NOT NULL UNIQUE,
  volume_quota_threshold            bigint  CHECK (volume_quota_threshold >= 0),   -- octets
  time_quota_threshold              integer CHECK (time_quota_threshold >= 0),     -- seconds
  quota_holding_time                integer CHECK (quota_holding_time >= 0),
  quota_consumption_time            integer CHECK (quota_consumption_time >= 0),
  validity_time                     integer NOT NULL DEFAULT 3600 CHECK (validity_time > 0),
  hotline_denied_result_code        integer NOT NULL DEFAULT 4010 CHECK (hotline_denied_result_code BETWEEN 1000 AND 5999),
  hotline_limit_reached_result_code integer NOT NULL DEFAULT 4012 CHECK (hotline_limit_reached_result_code BETWEEN 1000 AND 5999),
  rating_group_in_disconnect        boolean NOT NULL DEFAULT false,
  tariff_time_change                boolean NOT NULL DEFAULT false,
  home_plmn_e212_match              text CHECK (home_plmn_e212_match ~ '^[0-9]{3}(-[0-9]{2,3})?$'),
  rate_limit_up_kbps                bigint  CHECK (rate_limit_up_kbps > 0),
  rate_limit_down_kbps              bigint  CHECK (rate_limit_down_kbps > 0),
  rate_limit_scaling_percent        integer NOT NULL DEFAULT 100 CHECK (rate_limit_scaling_percent > 0),
  final_unit_action                 text NOT NULL DEFAULT 'terminate'
                                    CHECK (final_unit_action IN ('terminate', 'redirect', 'restrict')),
  hotline_url                       text,
  restriction_filter_id             text,
  hotline_validity_time             integer NOT NULL DEFAULT 300 CHECK (hotline_validity_time > 0),
  supervision_time                  integer CHECK (supervision_time > 0),
  ignore_requested_units            boolean NOT NULL DEFAULT false,
  CHECK (final_unit_action <> 'redirect' OR hotline_url IS NOT NULL),
  CHECK (final_unit_action <> 'restrict' OR restriction_filter_id IS NOT NULL)
);

-- PortaBilling-style RADIUS reply templates, per policy and NAS vendor.
-- kind 'radius_response': line is "Attr=tmpl", "Attr+=tmpl" or "Attr:=tmpl".
-- kind 'addr-pool-mask':  line is a pool name template with ${var:-val} etc.
CREATE TABLE radius_templates (
  id        bigserial PRIMARY KEY,
  policy_id bigint  NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  vendor    text    NOT NULL,          -- 'mikrotik', 'cisco', 'chillispot', 'any', ...
  kind      text    NOT NULL CHECK (kind IN ('radius_response', 'addr-pool-mask')),
  position  integer NOT NULL DEFAULT 0,
  line      text    NOT NULL
);
CREATE INDEX radius_templates_policy ON radius_templates (policy_id, vendor, position);

---------------------------------------------------------------------------
-- Plans and tariffs.
---------------------------------------------------------------------------
CREATE TABLE plans (
  id                 bigserial PRIMARY KEY,
  name               text    NOT NULL UNIQUE,
  description        text    NOT NULL DEFAULT '',
  currency           char(3) NOT NULL DEFAULT 'EUR' REFERENCES currencies (code),
  utc_offset_minutes integer NOT NULL DEFAULT 0 CHECK (utc_offset_minutes BETWEEN -840 AND 840),
  policy_id          bigint  NOT NULL REFERENCES policies (id)
);

-- How one rating group is charged. rating_group NULL = any other rating group.
CREATE TABLE plan_rating_groups (
  id            bigserial PRIMARY KEY,
  plan_id       bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  rating_group  bigint CHECK (rating_group BETWEEN 0 AND 4294967295),
  unit          text   NOT NULL CHECK (unit IN ('octets_total', 'octets_in', 'octets_out', 'seconds', 'events')),
  block_units   bigint NOT NULL DEFAULT 1 CHECK (block_units > 0),
  rounding      text   NOT NULL DEFAULT 'up' CHECK (rounding IN ('up', 'down', 'nearest')),
  default_grant bigint NOT NULL CHECK (default_grant > 0),
  max_grant     bigint NOT NULL CHECK (max_grant > 0),
  CHECK (max_grant >= default_grant)
);
CREATE UNIQUE INDEX plan_rating_groups_rg ON plan_rating_groups (plan_id, rating_group) NULLS NOT DISTINCT;

-- Prices by time of day and day of week. Rows are tried in ascending
-- priority (0 before 1), then id; the first that matches wins. A rating group
-- must be covered at every instant it is used, or rating fails (5031).
CREATE TABLE tariff_periods (
  id                   bigserial PRIMARY KEY,
  plan_rating_group_id bigint   NOT NULL REFERENCES plan_rating_groups (id) ON DELETE CASCADE,
  name                 text     NOT NULL DEFAULT 'all day',
  priority             integer  NOT NULL DEFAULT 0,
  days_mask            smallint NOT NULL DEFAULT 127 CHECK (days_mask BETWEEN 1 AND 127), -- bit0 Mon .. bit6 Sun
  start_minute         integer  NOT NULL DEFAULT 0    CHECK (start_minute BETWEEN 0 AND 1439),
  end_minute           integer  NOT NULL DEFAULT 1440 CHECK (end_minute BETWEEN 1 AND 1440),
  price_per_block      bigint   NOT NULL CHECK (price_per_block >= 0),
  CHECK (start_minute < end_minute)
);
CREATE INDEX tariff_periods_rg ON tariff_periods (plan_rating_group_id, priority);

---------------------------------------------------------------------------
-- Subscribers, identities, accounts, buckets.
---------------------------------------------------------------------------
CREATE TABLE subscribers (
  id               bigserial PRIMARY KEY,
  external_id      text NOT NULL UNIQUE CHECK (external_id <> ''),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'blocked')),
  status_reason    text,
  account_type     text NOT NULL DEFAULT 'prepaid' CHECK (account_type IN ('prepaid', 'postpaid')),
  subscriber_group text,
  plan_id          bigint NOT NULL REFERENCES plans (id),
  policy_id        bigint REFERENCES policies (id),  -- overrides the plan's policy
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- msisdn: E.164 digits; imsi: 15 digits; nai / sip_uri: as sent;
-- username: RADIUS User-Name, with the cleartext password PAP and CHAP need.
CREATE TABLE subscriber_identities (
  id            bigserial PRIMARY KEY,
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  kind          text   NOT NULL CHECK (kind IN ('msisdn', 'imsi', 'nai', 'sip_uri', 'username')),
  value         text   NOT NULL CHECK (value <> ''),
  password      text,
  UNIQUE (kind, value),
  CHECK (password IS NULL OR kind = 'username'),
  CHECK (kind <> 'msisdn' OR value ~ '^[0-9]{5,15}$'),
  CHECK (kind <> 'imsi' OR value ~ '^[0-9]{6,15}$')
);
CREATE INDEX subscriber_identities_sub ON subscriber_identities (subscriber_id);

-- One monetary account per subscriber. balance may go below zero down to
-- -credit_limit. Reservations are holds: they do not move the balance.
CREATE TABLE accounts (
  subscriber_id bigint  PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
  currency      char(3) NOT NULL REFERENCES currencies (code),
  balance       bigint  NOT NULL DEFAULT 0,
  credit_limit  bigint  NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Prepaid allowances of units, consumed before money.
CREATE TABLE buckets (
  id            bigserial PRIMARY KEY,
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  rating_group  bigint CHECK (rating_group BETWEEN 0 AND 4294967295),  -- NULL: any
  unit_family   text   NOT NULL CHECK (unit_family IN ('octets', 'seconds', 'events')),
  initial_units bigint NOT NULL CHECK (initial_units >= 0),
  remaining     bigint NOT NULL CHECK (remaining >= 0),
  valid_from    timestamptz,
  valid_until   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX buckets_sub ON buckets (subscriber_id);

---------------------------------------------------------------------------
-- Charging sessions, reservations, idempotent events.
---------------------------------------------------------------------------
-- id: Diameter Session-Id, or for RADIUS "nas-ip/Acct-Session-Id".
CREATE TABLE charging_sessions (
  id               text   PRIMARY KEY,
  subscriber_id    bigint NOT NULL REFERENCES subscribers (id),
  protocol         text   NOT NULL CHECK (protocol IN ('gy', 'gx', 'radius')),
  state            text   NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
  credit_state     text   NOT NULL DEFAULT 'ok' CHECK (credit_state IN ('ok', 'exhausted')),
  origin_host      text,  -- Diameter peer, for RAR/ASR
  origin_realm     text,
  nas_address      text,  -- RADIUS NAS, for CoA/Disconnect
  client_info      jsonb  NOT NULL DEFAULT '{}'::jsonb,
  last_request_key text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_seen        timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz,  -- supervision deadline
  closed_at        timestamptz,
  close_reason     text
);
CREATE INDEX charging_sessions_open ON charging_sessions (subscriber_id) WHERE state = 'open';
CREATE INDEX charging_sessions_expiry ON charging_sessions (expires_at) WHERE state = 'open';

-- What an open session holds, per rating group.
CREATE TABLE reservations (
  session_id       text   NOT NULL REFERENCES charging_sessions (id) ON DELETE CASCADE,
  rating_group     bigint NOT NULL,
  subscriber_id    bigint NOT NULL REFERENCES subscribers (id),
  unit             text   NOT NULL CHECK (unit IN ('octets_total', 'octets_in', 'octets_out', 'seconds', 'events')),
  granted_units    bigint NOT NULL CHECK (granted_units >= 0),
  money            bigint NOT NULL CHECK (money >= 0),
  bucket_holds     jsonb  NOT NULL DEFAULT '[]'::jsonb,  -- [{"bucket":id,"units":n}]
  granted_at       timestamptz NOT NULL,
  tariff_change_at timestamptz,
  PRIMARY KEY (session_id, rating_group)
);
CREATE INDEX reservations_sub ON reservations (subscriber_id);

-- Every charging request, keyed for idempotency: a replay returns `outcome`
-- and changes nothing. Diameter: request_key = CC-Request-Number; RADIUS:
-- the accounting identity (status type and counters).
CREATE TABLE charging_events (
  session_id    text   NOT NULL,
  request_key   text   NOT NULL,
  subscriber_id bigint REFERENCES subscribers (id),
  kind          text   NOT NULL,
  outcome       text   NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, request_key)
);

---------------------------------------------------------------------------
-- The ledger and usage records.
---------------------------------------------------------------------------
-- Append-only. Balance movements (topup, debit, adjustment) add up to the
-- account balance; holds (reserve, release) add up to what reservations hold.
CREATE TABLE ledger (
  id            bigserial PRIMARY KEY,
  subscriber_id bigint  NOT NULL REFERENCES subscribers (id),
  kind          text    NOT NULL CHECK (kind IN ('topup', 'debit', 'adjustment', 'reserve', 'release')),
  amount        bigint  NOT NULL,  -- signed; topup > 0, debit <= 0, reserve >= 0, release <= 0
  currency      char(3) NOT NULL,
  balance_after bigint  NOT NULL,
  reference     text,   -- top-up payment reference
  session_id    text,
  request_key   text,
  rating_group  bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (kind <> 'topup'   OR amount > 0),
  CHECK (kind <> 'debit'   OR amount <= 0),
  CHECK (kind <> 'reserve' OR amount >= 0),
  CHECK (kind <> 'release' OR amount <= 0)
);
CREATE UNIQUE INDEX ledger_topup_reference ON ledger (reference) WHERE kind = 'topup';
CREATE INDEX ledger_sub ON ledger (subscriber_id, id);

-- Append-only, loudly: a correction is a new 'adjustment' row.
CREATE FUNCTION ocs_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only: add an adjustment row instead of %', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION ocs_ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_ledger_append_only();

-- Usage records (CDRs): one per charged usage report.
CREATE TABLE usage_records (
  id            bigserial PRIMARY KEY,
  session_id    text   NOT NULL,
  request_key   text   NOT NULL,
  subscriber_id bigint NOT NULL REFERENCES subscribers (id),
  rating_group  bigint NOT NULL,
  unit          text   NOT NULL,
  units         bigint NOT NULL,
  input_octets  bigint,
  output_octets bigint,
  total_octets  bigint,
  seconds       bigint,
  events        bigint,
  cost          bigint NOT NULL,
  bucket_units  bigint NOT NULL DEFAULT 0,
  currency      char(3) NOT NULL,
  usage_start   timestamptz NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_records_sub ON usage_records (subscriber_id, recorded_at);
CREATE INDEX usage_records_session ON usage_records (session_id);

---------------------------------------------------------------------------
-- Notifications to the front-ends (RAR/ASR, CoA/Disconnect).
-- Fired by triggers so that operators' plain SQL changes notify too.
-- Channel 'ocs_account', payload JSON {"subscriber_id":..,"event":..}.
---------------------------------------------------------------------------
CREATE FUNCTION ocs_notify_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'accounts' THEN
    IF NEW.balance > OLD.balance OR NEW.credit_limit > OLD.credit_limit THEN
      PERFORM pg_notify('ocs_account', json_build_object(
        'subscriber_id', NEW.subscriber_id, 'event', 'credit',
        'balance', NEW.balance)::text);
    END IF;
  ELSIF TG_TABLE_NAME = 'subscribers' THEN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
      PERFORM pg_notify('ocs_account', json_build_object(
        'subscriber_id', NEW.id, 'event', 'status', 'status', NEW.status)::text);
    END IF;
    IF NEW.plan_id IS DISTINCT FROM OLD.plan_id OR NEW.policy_id IS DISTINCT FROM OLD.policy_id THEN
      PERFORM pg_notify('ocs_account', json_build_object(
        'subscriber_id', NEW.id, 'event', 'plan', 'plan_id', NEW.plan_id)::text);
    END IF;
  ELSIF TG_TABLE_NAME = 'buckets' THEN
    IF TG_OP = 'INSERT' OR NEW.remaining > OLD.remaining
       OR NEW.valid_until IS DISTINCT FROM OLD.valid_until THEN
      PERFORM pg_notify('ocs_account', json_build_object(
        'subscriber_id', NEW.subscriber_id, 'event', 'credit')::text);
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER accounts_notify AFTER UPDATE ON accounts
  FOR EACH ROW EXECUTE FUNCTION ocs_notify_account();
CREATE TRIGGER subscribers_notify AFTER UPDATE ON subscribers
  FOR EACH ROW EXECUTE FUNCTION ocs_notify_account();
CREATE TRIGGER buckets_notify AFTER INSERT OR UPDATE ON buckets
  FOR EACH ROW EXECUTE FUNCTION ocs_notify_account();

INSERT INTO schema_version (version) VALUES (1);
