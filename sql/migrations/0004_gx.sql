-- OCS schema, version 4: Gx policy control (the PCRF role).
--
-- What the Gx front-end (src/diameter/gx, src/store/pg_gx.cpp) reads and
-- writes. docs/gx.md explains the mapping from account state to policy.
--
--   policies           + QCI, ARP, predefined PCC rule names / base names,
--                        event triggers, what Gy running out of credit means
--                        on Gx (gy_exhausted_action)
--   gx_rules           dynamic PCC rules (Charging-Rule-Definition) of a policy
--   plans              + the policy of each state: hotline (out of credit),
--                        blocked, throttled (fair usage exceeded); release on block
--   usage_allowances   fair-usage allowances of a plan, per monitoring key
--   usage_counters     octets used per subscriber, monitoring key and period
--   gx_sessions        what each open Gx session currently enforces

---------------------------------------------------------------------------
-- Policies: the Gx side.
---------------------------------------------------------------------------
ALTER TABLE policies
  ADD COLUMN qci                          integer NOT NULL DEFAULT 9 CHECK (qci BETWEEN 1 AND 254),
  ADD COLUMN arp_priority                 integer NOT NULL DEFAULT 8 CHECK (arp_priority BETWEEN 1 AND 15),
  -- Pre-emption-Capability: may this bearer take resources from others.
  ADD COLUMN arp_may_preempt              boolean NOT NULL DEFAULT false,
  -- Pre-emption-Vulnerability: may others take this bearer's resources.
  ADD COLUMN arp_preemptable              boolean NOT NULL DEFAULT true,
  -- Predefined rules and rule groups configured on the PCEF (no newlines).
  ADD COLUMN gx_rule_names                text[]    NOT NULL DEFAULT '{}',
  ADD COLUMN gx_rule_base_names           text[]    NOT NULL DEFAULT '{}',
  -- Event-Trigger values (TS 29.212 5.3.7), e.g. 33 USAGE_REPORT.
  ADD COLUMN gx_event_triggers            integer[] NOT NULL DEFAULT '{}',
  -- 'throttle': when the subscriber's Gy sessions are refused credit (or the
  -- account has no money and no bucket), Gx installs the plan's hotline
  -- policy instead of Gy cutting the session. 'none': Gx ignores credit.
  ADD COLUMN gy_exhausted_action          text NOT NULL DEFAULT 'none'
                                          CHECK (gy_exhausted_action IN ('none', 'throttle')),
  ADD CHECK (NOT ('' = ANY (gx_rule_names)) AND NOT ('' = ANY (gx_rule_base_names)));

-- Dynamic PCC rules (Charging-Rule-Definition) installed with a policy.
CREATE TABLE gx_rules (
  id             bigserial PRIMARY KEY,
  policy_id      bigint  NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  name           text    NOT NULL CHECK (name <> ''),
  precedence     integer NOT NULL DEFAULT 100 CHECK (precedence >= 0),
  rating_group   bigint  CHECK (rating_group BETWEEN 0 AND 4294967295),
  monitoring_key text    CHECK (monitoring_key <> ''),
  -- Flow-Description IPFilterRules, e.g. 'permit out ip from any to assigned'.
  flows          text[]  NOT NULL DEFAULT '{}',
  -- Redirect-Information: send the subscriber's HTTP to this URL.
  redirect_url   text    CHECK (redirect_url <> ''),
  online         boolean NOT NULL DEFAULT false,
  offline        boolean NOT NULL DEFAULT false,
  UNIQUE (policy_id, name)
);

---------------------------------------------------------------------------
-- Plans: the policy of each state. NULL keeps the normal policy (plans.policy_id
-- or the subscriber's own), except blocked, which then releases the session.
---------------------------------------------------------------------------
ALTER TABLE plans
  ADD COLUMN gx_hotline_policy_id   bigint REFERENCES policies (id),
  ADD COLUMN gx_blocked_policy_id   bigint REFERENCES policies (id),
  ADD COLUMN gx_throttled_policy_id bigint REFERENCES policies (id),
  ADD COLUMN gx_release_on_block    boolean NOT NULL DEFAULT false;

-- Fair-usage allowances: past `octets` in the period (UTC day or month) the
-- subscriber is throttled. The PCEF reports usage per monitoring key.
CREATE TABLE usage_allowances (
  id             bigserial PRIMARY KEY,
  plan_id        bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  monitoring_key text   NOT NULL CHECK (monitoring_key <> ''),
  octets         bigint NOT NULL CHECK (octets > 0),
  period         text   NOT NULL DEFAULT 'month' CHECK (period IN ('day', 'month')),
  UNIQUE (plan_id, monitoring_key)
);

CREATE TABLE usage_counters (
  subscriber_id  bigint      NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  monitoring_key text        NOT NULL,
  period_start   timestamptz NOT NULL,
  octets         bigint      NOT NULL DEFAULT 0 CHECK (octets >= 0),
  PRIMARY KEY (subscriber_id, monitoring_key, period_start)
);

-- What an open Gx session enforces now (the last answer or RAR sent).
CREATE TABLE gx_sessions (
  session_id      text    PRIMARY KEY REFERENCES charging_sessions (id) ON DELETE CASCADE,
  policy_state    text    NOT NULL CHECK (policy_state IN ('normal', 'out_of_credit', 'blocked', 'throttled')),
  policy_id       bigint  REFERENCES policies (id) ON DELETE SET NULL,  -- NULL: released
  rule_names      text[]  NOT NULL DEFAULT '{}',
  rule_base_names text[]  NOT NULL DEFAULT '{}',
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER gx_rules_config_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON gx_rules
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_bump_config_version();
CREATE TRIGGER usage_allowances_config_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON usage_allowances
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_bump_config_version();

---------------------------------------------------------------------------
-- Gy <-> Gx link: a Gy session refused credit (or given credit again, or
-- closed while refused) notifies 'ocs_account' with event 'gy_credit', so
-- the Gx front-end re-decides the subscriber's Gx sessions. The WHEN clauses
-- keep the Gy hot path (one session UPDATE per CCR) free of any work.
---------------------------------------------------------------------------
CREATE FUNCTION ocs_notify_gy_credit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ocs_account', json_build_object(
    'subscriber_id', NEW.subscriber_id, 'event', 'gy_credit',
    'credit_state', CASE WHEN NEW.state = 'open' THEN NEW.credit_state ELSE 'closed' END)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER charging_sessions_gy_credit_insert
  AFTER INSERT ON charging_sessions
  FOR EACH ROW WHEN (NEW.protocol = 'gy' AND NEW.credit_state = 'exhausted')
  EXECUTE FUNCTION ocs_notify_gy_credit();
CREATE TRIGGER charging_sessions_gy_credit_update
  AFTER UPDATE OF credit_state, state ON charging_sessions
  FOR EACH ROW WHEN (NEW.protocol = 'gy' AND (OLD.credit_state IS DISTINCT FROM NEW.credit_state
                     OR (OLD.state = 'open' AND NEW.state = 'closed' AND NEW.credit_state = 'exhausted')))
  EXECUTE FUNCTION ocs_notify_gy_credit();

INSERT INTO schema_version (version) VALUES (4);
