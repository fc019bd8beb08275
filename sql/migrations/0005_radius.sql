-- OCS schema, version 5: the RADIUS daemon ocs-radiusd.
--
-- * nas_clients: the NASes allowed to talk to ocs-radiusd, with their shared
--   secrets and the dialect their replies are written in.
-- * policies: how RADIUS treats a blocked subscriber or one out of credit,
--   the address pools and the interim accounting interval.
--
-- Per-session accounting state needs no table of its own: usage_records of a
-- RADIUS session hold every octet and second already charged (they are
-- written in the charging transaction), so the delta of an Interim-Update or
-- Stop is its running total minus their sum (see docs/radius.md).

CREATE TABLE nas_clients (
  id                            bigserial PRIMARY KEY,
  name                          text    NOT NULL UNIQUE CHECK (name <> ''),
  address                       inet    NOT NULL UNIQUE,
  secret                        text    NOT NULL CHECK (secret <> ''),
  vendor                        text    NOT NULL DEFAULT 'generic'
                                CHECK (vendor IN ('generic', 'mikrotik', 'cisco', 'chillispot', 'wispr')),
  coa_port                      integer NOT NULL DEFAULT 3799 CHECK (coa_port BETWEEN 1 AND 65535),
  require_message_authenticator boolean  -- NULL: the daemon's [radius] default
);

ALTER TABLE policies
  -- Access-Request of a blocked or suspended subscriber: Access-Reject, or
  -- accept into the hotline (captive portal, LIMITED pool) without quota.
  ADD COLUMN radius_on_blocked     text NOT NULL DEFAULT 'reject'
                                   CHECK (radius_on_blocked IN ('reject', 'hotline')),
  -- Access-Request of a subscriber out of credit.
  ADD COLUMN radius_on_no_credit   text NOT NULL DEFAULT 'hotline'
                                   CHECK (radius_on_no_credit IN ('reject', 'hotline')),
  -- Framed-Pool (Cisco: ip:addr-pool) when no addr-pool-mask template applies.
  ADD COLUMN radius_address_pool   text CHECK (radius_address_pool <> ''),
  ADD COLUMN radius_hotline_pool   text NOT NULL DEFAULT 'LIMITED' CHECK (radius_hotline_pool <> ''),
  -- Acct-Interim-Interval in Access-Accept (seconds; NULL: not sent).
  ADD COLUMN acct_interim_interval integer CHECK (acct_interim_interval >= 60);

INSERT INTO schema_version (version) VALUES (5);
