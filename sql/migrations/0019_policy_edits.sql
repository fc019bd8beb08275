-- OCS schema, version 19: an operator's edit of a policy reaches the open
-- Gx sessions that enforce it.
--
-- Until now a Gx session was sent a new policy only when its state, its
-- policy id or its rule names changed (an account event, a CCR-U). Editing
-- a policy in place (its rates, QCI, ARP, event triggers, a dynamic rule's
-- flows) changed none of those, so the gateways kept enforcing the old
-- values until the session ended (docs/gx.md, known limits).
--
-- Two parts:
--   * gx_sessions.enforced_digest: a digest of what the session was last
--     sent (ocs::enforcement_digest: QoS, APN-AMBR, rules with their
--     definitions, event triggers, monitoring keys). A re-decision whose
--     digest differs is a change: RAR (or, at a CCR-U, the new install in
--     the CCA). NULL for the sessions stored before this version: they get
--     their policy again at their next re-decision, which is harmless (a
--     PCEF re-installs a rule of the same name in place).
--   * every statement that changes what a Gx decision reads (plans,
--     policies, gx_rules, usage_allowances; not tariffs: plan_rating_groups
--     and tariff_periods) notifies 'ocs_account' with
--     {"subscriber_id": 0, "event": "config"}. The payload is the same for
--     every statement, so PostgreSQL delivers one notification per
--     transaction, at its commit. The Gx front-end then re-decides every
--     open Gx session (as after a reconnection of its LISTEN); Gy and
--     RADIUS ignore the event. A price change sends nothing: it would make
--     every Gx session be re-checked for nothing.

ALTER TABLE gx_sessions ADD COLUMN enforced_digest text;

CREATE FUNCTION ocs_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ocs_account', '{"subscriber_id": 0, "event": "config"}');
  RETURN NULL;
END $$;

CREATE TRIGGER plans_notify_config
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_notify_config();
CREATE TRIGGER policies_notify_config
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON policies
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_notify_config();
CREATE TRIGGER gx_rules_notify_config
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON gx_rules
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_notify_config();
CREATE TRIGGER usage_allowances_notify_config
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON usage_allowances
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_notify_config();

INSERT INTO schema_version (version) VALUES (19);
