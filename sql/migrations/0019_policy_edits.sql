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
--   * every change of what the charging processes cache (the statements
--     that bump config_version: plans, their rating groups and tariff
--     periods, policies, gx_rules, usage_allowances) notifies 'ocs_account'
--     with {"subscriber_id": 0, "event": "config"}. The payload is the same
--     for every statement, so PostgreSQL delivers one notification per
--     transaction, at its commit. The Gx front-end then re-decides every
--     open Gx session (as after a reconnection of its LISTEN); Gy and
--     RADIUS ignore the event.

ALTER TABLE gx_sessions ADD COLUMN enforced_digest text;

CREATE FUNCTION ocs_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ocs_account', '{"subscriber_id": 0, "event": "config"}');
  RETURN NULL;
END $$;

CREATE TRIGGER config_version_notify
  AFTER UPDATE ON config_version
  FOR EACH ROW EXECUTE FUNCTION ocs_notify_config();

INSERT INTO schema_version (version) VALUES (19);
