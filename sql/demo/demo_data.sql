-- Demo data for a fresh OCS database (schema version 21).
--
-- Load it once into an empty, migrated database:
--   psql -v ON_ERROR_STOP=1 --single-transaction -d "$DSN" -f sql/demo/demo_data.sql
-- It is not idempotent: the guard below refuses a database that already
-- holds subscribers or the demo policies.
--
-- Conventions: money in minor units (EUR cents); 1 MiB = 1048576 octets;
-- tariff periods are checked in ascending `priority`, the first match wins;
-- the demo plan's local time is UTC (utc_offset_minutes = 0).

DO $$
BEGIN
  IF (SELECT coalesce(max(version), 0) FROM schema_version) <> 21 THEN
    RAISE EXCEPTION 'demo data needs schema version 21';
  END IF;
  IF EXISTS (SELECT 1 FROM subscribers)
     OR EXISTS (SELECT 1 FROM policies WHERE name IN ('demo', 'hotline'))
     OR EXISTS (SELECT 1 FROM plans WHERE name = 'demo') THEN
    RAISE EXCEPTION 'demo data is loaded into an empty database only';
  END IF;
END $$;

---------------------------------------------------------------------------
-- Policies
---------------------------------------------------------------------------
-- demo: quota every 10 minutes, thresholds 1 MiB / 60 s, QHT 300 s, QCT 30 s,
-- Tariff-Time-Change sent, 20 Mbit/s up / 50 Mbit/s down at 100 %, and a
-- subscriber out of credit is redirected to the top-up portal.
INSERT INTO policies (name, validity_time, volume_quota_threshold, time_quota_threshold,
                      quota_holding_time, quota_consumption_time, tariff_time_change,
                      rate_limit_up_kbps, rate_limit_down_kbps, rate_limit_scaling_percent,
                      final_unit_action, hotline_url)
VALUES ('demo', 600, 1048576, 60,
        300, 30, true,
        20000, 50000, 100,
        'redirect', 'http://portal.localdomain/topup');
-- RADIUS: interim accounting every 5 minutes; out of credit -> hotline
-- (pool LIMITED, portal), blocked -> Access-Reject.
UPDATE policies SET acct_interim_interval = 300, radius_on_no_credit = 'hotline',
                    radius_on_blocked = 'reject', radius_address_pool = 'NORMAL'
WHERE name = 'demo';

-- hotline: restricted access. Only what the NAS filter 'hotline' allows (the
-- portal) gets through; slow, and asks again every 5 minutes.
INSERT INTO policies (name, validity_time, rate_limit_up_kbps, rate_limit_down_kbps,
                      final_unit_action, restriction_filter_id, hotline_url,
                      hotline_validity_time)
VALUES ('hotline', 300, 256, 512,
        'restrict', 'hotline', 'http://portal.localdomain/topup',
        300);

-- Gx (docs/gx.md). demo: QCI 9, ARP 8, the PCEF's predefined rule
-- 'internet' and rule group 'default-services', usage reports asked for;
-- when Gy refuses credit, Gx installs the plan's hotline policy.
UPDATE policies SET qci = 9, arp_priority = 8, gx_rule_names = '{internet}',
                    gx_rule_base_names = '{default-services}', gx_event_triggers = '{33}',
                    gy_exhausted_action = 'throttle'
WHERE name = 'demo';
-- hotline on Gx: 256/512 kbit/s and one dynamic rule sending web traffic to
-- the top-up portal.
UPDATE policies SET qci = 9, arp_priority = 15 WHERE name = 'hotline';
INSERT INTO gx_rules (policy_id, name, precedence, flows, redirect_url)
SELECT id, 'hotline-redirect', 10, '{"permit out 6 from any to assigned 80","permit in 6 from assigned 80 to any"}',
       'http://portal.localdomain/topup'
FROM policies WHERE name = 'hotline';
-- fair-usage: what a subscriber past the monthly allowance gets (1/2 Mbit/s).
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, qci, arp_priority, gx_rule_names)
VALUES ('fair-usage', 1000, 2000, 9, 10, '{internet}');
-- blocked: not-paying subscribers keep only the portal (BQN's "block").
INSERT INTO policies (name, rate_limit_up_kbps, rate_limit_down_kbps, qci, arp_priority, gx_rule_names)
VALUES ('blocked', 64, 64, 9, 15, '{walled-garden}');

-- RADIUS reply templates (PortaBilling syntax), applied by ocs-radiusd.
-- MikroTik Rate-Limit is rx/tx as the router sees it: client upload first.
INSERT INTO radius_templates (policy_id, vendor, kind, position, line)
SELECT p.id, t.vendor, t.kind, t.position, t.line
FROM policies p,
     (VALUES
       ('mikrotik', 'radius_response', 1, 'Mikrotik-Rate-Limit:=${rate_up}k/${rate_down}k'),
       ('mikrotik', 'radius_response', 2, 'Mikrotik-Address-List=${hotlining:+hotline}${hotlining:?customers}'),
       ('cisco',    'radius_response', 1, 'Cisco-AVPair+=subscriber:sub-qos-policy-in=${name}-up'),
       ('cisco',    'radius_response', 2, 'Cisco-AVPair+=subscriber:sub-qos-policy-out=${name}-down'),
       ('cisco',    'addr-pool-mask',  1, '${hotlining:+LIMITED}${hotlining:?NORMAL}'),
       ('any',      'radius_response', 9, 'Reply-Message=Welcome ${name}${hotlining:+, please top up}')
     ) AS t (vendor, kind, position, line)
WHERE p.name = 'demo';

---------------------------------------------------------------------------
-- Plan 'demo' (EUR)
---------------------------------------------------------------------------
INSERT INTO plans (name, description, currency, utc_offset_minutes, policy_id)
SELECT 'demo', 'Demo prepaid data and time plan', 'EUR', 0, id FROM policies WHERE name = 'demo';

-- Gx: the policy of each state, and 10 GiB of fair usage per month
-- (monitoring key 'fup').
UPDATE plans SET gx_hotline_policy_id = (SELECT id FROM policies WHERE name = 'hotline'),
                 gx_throttled_policy_id = (SELECT id FROM policies WHERE name = 'fair-usage'),
                 gx_blocked_policy_id = (SELECT id FROM policies WHERE name = 'blocked')
WHERE name = 'demo';
INSERT INTO usage_allowances (plan_id, monitoring_key, octets, period)
SELECT id, 'fup', 10737418240, 'month' FROM plans WHERE name = 'demo';

-- Rating group 10: data, 1 MiB blocks, grants of 10 MiB (at most 100 MiB).
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
SELECT id, 10, 'octets_total', 1048576, 'up', 10485760, 104857600 FROM plans WHERE name = 'demo';
-- 0.02 EUR per MiB Monday to Friday 08:00-20:00, 0.01 EUR otherwise.
INSERT INTO tariff_periods (plan_rating_group_id, name, priority, days_mask, start_minute, end_minute, price_per_block)
SELECT rg.id, t.name, t.priority, t.days_mask, t.start_minute, t.end_minute, t.price
FROM plan_rating_groups rg JOIN plans p ON p.id = rg.plan_id,
     (VALUES ('peak',     1, 31,  480, 1200, 2),
             ('off-peak', 2, 127,   0, 1440, 1)) AS t (name, priority, days_mask, start_minute, end_minute, price)
WHERE p.name = 'demo' AND rg.rating_group = 10;

-- Rating group 20: time, 60 s blocks at 0.05 EUR, grants of 300 s (at most 1 h).
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
SELECT id, 20, 'seconds', 60, 'up', 300, 3600 FROM plans WHERE name = 'demo';
INSERT INTO tariff_periods (plan_rating_group_id, name, priority, price_per_block)
SELECT rg.id, 'all day', 1, 5
FROM plan_rating_groups rg JOIN plans p ON p.id = rg.plan_id
WHERE p.name = 'demo' AND rg.rating_group = 20;

-- Any other rating group: data at 0.02 EUR per MiB all day.
INSERT INTO plan_rating_groups (plan_id, rating_group, unit, block_units, rounding, default_grant, max_grant)
SELECT id, NULL, 'octets_total', 1048576, 'up', 10485760, 104857600 FROM plans WHERE name = 'demo';
INSERT INTO tariff_periods (plan_rating_group_id, name, priority, price_per_block)
SELECT rg.id, 'all day', 1, 2
FROM plan_rating_groups rg JOIN plans p ON p.id = rg.plan_id
WHERE p.name = 'demo' AND rg.rating_group IS NULL;

---------------------------------------------------------------------------
-- Subscribers
---------------------------------------------------------------------------
INSERT INTO subscribers (external_id, status, status_reason, plan_id)
SELECT s.external_id, s.status, s.reason, p.id
FROM plans p,
     (VALUES ('alice', 'active',  NULL),
             ('bob',   'active',  NULL),
             ('carol', 'blocked', 'unpaid'),
             ('dave',  'active',  NULL)) AS s (external_id, status, reason)
WHERE p.name = 'demo';

INSERT INTO subscriber_identities (subscriber_id, kind, value, password)
SELECT s.id, i.kind, i.value, i.password
FROM subscribers s JOIN
     (VALUES ('alice', 'msisdn',   '491700000001',    NULL),
             ('alice', 'imsi',     '262010000000001', NULL),
             ('alice', 'username', 'alice',           'alicepw'),
             ('bob',   'msisdn',   '491700000002',    NULL),
             ('bob',   'imsi',     '262010000000002', NULL),
             ('carol', 'msisdn',   '491700000003',    NULL),
             ('carol', 'imsi',     '262010000000003', NULL),
             ('dave',  'msisdn',   '491700000004',    NULL),
             ('dave',  'imsi',     '262010000000004', NULL)) AS i (external_id, kind, value, password)
  ON i.external_id = s.external_id;

-- Opening balances: alice 10.00, bob 0.50, carol 5.00, dave 0.
INSERT INTO accounts (subscriber_id, currency, balance)
SELECT s.id, 'EUR', b.balance
FROM subscribers s JOIN
     (VALUES ('alice', 1000), ('bob', 50), ('carol', 500), ('dave', 0)) AS b (external_id, balance)
  ON b.external_id = s.external_id;

-- Every opening balance is a top-up in the ledger (none for a zero balance).
INSERT INTO ledger_entries (subscriber_id, kind, amount, currency, balance_after)
SELECT a.subscriber_id, 'topup', a.balance, a.currency, a.balance
FROM accounts a
WHERE a.balance > 0
ORDER BY a.subscriber_id;

-- NAS clients of ocs-radiusd: the local host, for radclient.
INSERT INTO nas_clients (name, address, secret, vendor)
VALUES ('localhost', '127.0.0.1', 'testing123', 'mikrotik');

-- dave: 100 MiB of data on rating group 10 for 30 days.
INSERT INTO buckets (subscriber_id, rating_group, unit_family, initial_units, remaining, valid_from, valid_until)
SELECT id, 10, 'octets', 104857600, 104857600, now(), now() + interval '30 days'
FROM subscribers WHERE external_id = 'dave';
