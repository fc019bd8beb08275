-- OCS schema, version 20: an edit of a RADIUS reply template reaches the
-- open RADIUS sessions, as an edit of a policy or plan does (schema 19).
--
-- ocs-radiusd records in each session's client_info ("rate_digest") a
-- digest of the rate limits its Access-Accept gave: the policy's rates in
-- the NAS's dialect after the radius_response templates, which may rewrite
-- them (a Mikrotik-Rate-Limit with bursts). At a 'config' notification
-- (plans, policies, ... : schema 19; radius_templates: here) and at a
-- subscriber's 'plan' notification it computes them again and sends a CoA
-- with the new ones to each session whose digest differs (docs/radius.md,
-- "Rate limits after a policy edit"). No column changes: client_info is
-- jsonb.

CREATE TRIGGER radius_templates_notify_config
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON radius_templates
  FOR EACH STATEMENT EXECUTE FUNCTION ocs_notify_config();

INSERT INTO schema_version (version) VALUES (20);
