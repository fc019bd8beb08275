#include "service.hpp"

#include <charconv>
#include <chrono>

#include "ocs/common/utf8.hpp"
#include "ocs/radius/auth.hpp"

namespace ocs::radiusd {

namespace {

using radius::Packet;

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::optional<std::uint64_t> to_u64(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto r = std::from_chars(s->data(), s->data() + s->size(), v);
  if (r.ec != std::errc{} || r.ptr != s->data() + s->size()) return std::nullopt;
  return v;
}

constexpr std::uint8_t kFramedIpAddress = 8;

/// A text attribute whose value the database can hold (UTF-8, no NUL), else
/// nothing: such a User-Name cannot be anyone's.
std::optional<std::string> text_attribute(const Packet& request, std::uint8_t type) {
  auto v = radius::get_string(request, type);
  if (v && !is_text(*v)) return std::nullopt;
  return v;
}

/// The template variables of a user's policy (rates in kbit/s after
/// scaling); `hotlining` is the caller's to add.
radius::TemplateVars template_vars(const store::RadiusUser& user, const std::string& user_name) {
  const store::RadiusPolicy& p = user.policy;
  radius::TemplateVars vars{{"type", user.account_type}, {"name", p.name}, {"user", user_name}};
  if (p.rate_limit_up_kbps)
    vars["rate_up"] = std::to_string(radius::scale_rate(*p.rate_limit_up_kbps, p.rate_limit_scaling_percent));
  if (p.rate_limit_down_kbps)
    vars["rate_down"] = std::to_string(radius::scale_rate(*p.rate_limit_down_kbps, p.rate_limit_scaling_percent));
  return vars;
}

/// The policy's rate limits for a NAS of `vendor` (what the Access-Accept
/// and the rate-limit CoA start from).
radius::Authorization rate_authorization(const store::RadiusPolicy& p, radius::NasVendor vendor) {
  radius::Authorization a;
  a.vendor = vendor;
  a.rate_up_kbps = p.rate_limit_up_kbps;
  a.rate_down_kbps = p.rate_limit_down_kbps;
  a.rate_scaling_percent = p.rate_limit_scaling_percent;
  return a;
}

Packet reply_to(const Packet& request, std::uint8_t code) {
  Packet p;
  p.code = code;
  p.identifier = request.identifier;
  p.authenticator = request.authenticator;
  return p;
}

Packet reject(const Packet& request, std::string_view message) {
  Packet p = reply_to(request, radius::code::AccessReject);
  radius::add_string(p, radius::attr::ReplyMessage, message);
  return p;
}

store::ChargeRequest charge_request(const std::string& sid, std::string key, RequestKind kind, const Nas& nas,
                                    std::uint32_t rating_group) {
  store::ChargeRequest r;
  r.session_id = sid;
  r.request_key = std::move(key);
  r.origin.protocol = "radius";
  r.origin.nas_address = nas.address;
  r.credit.kind = kind;
  RatingGroupRequest rg;
  rg.rating_group = rating_group;
  r.credit.rating_groups.push_back(rg);
  return r;
}

const Grant* grant_of(const store::ChargeResult& r) {
  for (const auto& res : r.decision.results)
    if (res.status == RgStatus::Granted && res.grant) return &*res.grant;
  return nullptr;
}

bool no_credit(Outcome o) { return o == Outcome::Hotlined || o == Outcome::CreditLimitReached; }

void set_quota(radius::Authorization& a, const Grant& g) {
  switch (g.unit) {
    case Unit::Seconds: a.quota_seconds = g.units; break;
    case Unit::OctetsTotal:
    case Unit::OctetsInput:
    case Unit::OctetsOutput: a.quota_octets = g.units; break;
    case Unit::Events: break;
  }
}

}  // namespace

std::string session_id(const std::string& nas_address, const std::string& acct_session_id) {
  if (is_text(acct_session_id)) return nas_address + "/" + acct_session_id;
  return nas_address + "/hex:" +
         hex(std::span(reinterpret_cast<const std::uint8_t*>(acct_session_id.data()), acct_session_id.size()));
}

Totals totals_of(const Packet& request) {
  using namespace radius;
  const auto v = [&](std::uint8_t type) { return static_cast<std::uint64_t>(get_integer(request, type).value_or(0)); };
  Totals t;
  t.input_octets = (v(attr::AcctInputGigawords) << 32) + v(attr::AcctInputOctets);
  t.output_octets = (v(attr::AcctOutputGigawords) << 32) + v(attr::AcctOutputOctets);
  t.seconds = v(attr::AcctSessionTime);
  return t;
}

Task<std::optional<Packet>> Service::handle(const Packet& request, const Nas& nas) {
  if (request.code == radius::code::AccessRequest) {
    std::optional<Packet> reply = co_await access(request, nas);
    co_return reply;
  }
  if (request.code == radius::code::AccountingRequest) {
    std::optional<Packet> reply = co_await accounting(request, nas);
    co_return reply;
  }
  co_return std::nullopt;
}

bool Service::recheck_credit(const std::string& sid, const std::string& nas_address) {
  Nas nas;
  nas.address = nas_address;
  // A key of its own for each re-check (never a replay of the last one).
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  auto req = charge_request(sid, "recheck/" + std::to_string(ms), RequestKind::Update, nas, config_.rating_group);
  req.credit.rating_groups.front().wants_grant = true;
  const store::ChargeResult r = charging_.charge(req, now_());
  const bool granted = r.status == store::ChargeStatus::Ok && grant_of(r) != nullptr;
  log_->info("radius.coa.recheck session={} status={} outcome={} granted={}", sid, store::to_string(r.status),
             to_string(r.decision.outcome), granted);
  return granted;
}

Task<std::optional<Packet>> Service::access(const Packet& request, const Nas& nas) {
  using namespace radius;
  const auto user_name = get_string(request, attr::UserName);
  if (!user_name || user_name->empty()) {
    log_->info("radius.auth.reject nas={} reason=no_user_name", nas.name);
    co_return reject(request, "Authentication failed");
  }
  const std::optional<store::RadiusUser> user = co_await db_.find_user(*user_name, std::string(to_string(nas.vendor)));
  const bool crb_reauth = cisco_avpair(request, "crb-auth-reason") == "3";
  const Attribute* pap = request.find(attr::UserPassword);
  const Attribute* chap = request.find(attr::ChapPassword);

  bool authenticated = false;
  if (user && user->password) {
    if (pap) {
      const auto pw = unhide_password(pap->value, request.authenticator, nas.secret);
      const std::string& want = *user->password;
      authenticated = pw && equal_constant_time(std::span(reinterpret_cast<const std::uint8_t*>(pw->data()), pw->size()),
                                                std::span(reinterpret_cast<const std::uint8_t*>(want.data()), want.size()));
    } else if (chap) {
      authenticated = verify_chap(request, *user->password);
    } else if (crb_reauth) {
      // Cisco CRB re-authorization of an authenticated session carries no
      // password; the NAS vouches for it with its shared secret.
      authenticated = true;
    }
  }
  if (!authenticated) {
    log_->info("radius.auth.reject nas={} user={} reason={}", nas.name, *user_name,
               !user ? "unknown_user" : (pap || chap) ? "bad_password" : "no_password");
    co_return reject(request, "Authentication failed");
  }
  if (crb_reauth) {
    std::optional<Packet> reply = co_await reauthorize(request, nas, *user);
    co_return reply;
  }

  const store::RadiusPolicy& policy = user->policy;
  Authorization a = rate_authorization(policy, nas.vendor);
  a.acct_interim_interval = policy.acct_interim_interval;

  bool blocked = user->status != SubscriberStatus::Active;
  std::string sid;
  if (!blocked) {
    const auto acct_session = get_string(request, attr::AcctSessionId);
    // Without Acct-Session-Id the grant is held by a provisional session,
    // named in Class; Accounting-Start closes it (see docs/radius.md).
    sid = acct_session && !acct_session->empty() ? session_id(nas.address, *acct_session)
                                                 : nas.address + "/auth/" + hex(request.authenticator);
    auto req = charge_request(sid, "auth/" + hex(request.authenticator), RequestKind::Initial, nas,
                              config_.rating_group);
    req.credit.rating_groups.front().wants_grant = true;
    req.identities.push_back(store::Identity{store::IdentityKind::Username, *user_name});
    // What this Accept's rate limits are ("" for none), so that a later
    // change of the policy can be sent by CoA (CoaNotifier); committed with
    // the session. A generic NAS is given no rate limits.
    if (nas.vendor != radius::NasVendor::Generic)
      req.origin.client.emplace_back("rate_digest",
                                     radius::rate_limit_digest(rate_limits(*user, nas.vendor, *user_name)));
    const store::ChargeResult r = co_await db_.charge(req, now_());
    if (r.status != store::ChargeStatus::Ok) {
      log_->info("radius.auth.reject nas={} user={} reason={}", nas.name, *user_name, store::to_string(r.status));
      co_return reject(request, "Authentication failed");
    }
    const Outcome o = r.decision.outcome;
    if (o == Outcome::Denied) {
      blocked = true;
    } else if (no_credit(o)) {
      if (!policy.hotline_when_no_credit) {
        log_->info("radius.auth.reject nas={} user={} reason=no_credit", nas.name, *user_name);
        co_return reject(request, "No credit left");
      }
      a.hotlining = true;
    } else if (o == Outcome::RatingFailed) {
      log_->warn("radius.auth.reject nas={} user={} reason=rating_failed", nas.name, *user_name);
      co_return reject(request, "Service not available");
    } else if (const Grant* g = grant_of(r)) {
      set_quota(a, *g);
    }
  }
  if (blocked) {
    if (!policy.hotline_when_blocked) {
      log_->info("radius.auth.reject nas={} user={} reason=blocked", nas.name, *user_name);
      co_return reject(request, "Account blocked");
    }
    a.hotlining = true;
  }
  if (a.hotlining) {
    a.redirect_url = policy.hotline_url;
    a.filter_id = policy.restriction_filter_id;
    a.hotline_session_timeout = policy.hotline_validity_time;
  }
  if (!sid.empty()) a.class_value = "ocs:" + sid;

  TemplateVars vars = template_vars(*user, *user_name);
  if (a.hotlining) vars["hotlining"] = "1";

  std::vector<std::string> response_lines;
  bool pool_from_mask = false;
  for (const auto& t : user->templates) {
    if (t.kind == "radius_response") {
      response_lines.push_back(t.line);
    } else if (t.kind == "addr-pool-mask" && !pool_from_mask) {
      std::string error;
      if (auto pool = expand_template(t.line, vars, &error)) {
        a.address_pool = *pool;
        pool_from_mask = true;
      } else {
        log_->warn("radius.template.invalid policy={} line=\"{}\" error=\"{}\"", policy.name, t.line, error);
      }
    }
  }
  if (!pool_from_mask) a.address_pool = a.hotlining ? policy.hotline_pool : policy.address_pool.value_or("");

  Packet reply = reply_to(request, code::AccessAccept);
  reply.attributes = authorization_attributes(a);
  for (const auto& problem : apply_response_lines(reply, response_lines, vars, dict_))
    log_->warn("radius.template.invalid policy={} {}", policy.name, problem);
  log_->info("radius.auth.accept nas={} user={} session={} hotlining={} quota_octets={} quota_seconds={}", nas.name,
             *user_name, sid, a.hotlining, a.quota_octets.value_or(0), a.quota_seconds.value_or(0));
  co_return reply;
}

std::vector<radius::Attribute> Service::rate_limits(const store::RadiusUser& user, radius::NasVendor vendor,
                                                    const std::string& user_name) const {
  std::vector<std::string> lines;
  for (const auto& t : user.templates)
    if (t.kind == "radius_response") lines.push_back(t.line);
  return radius::rate_limit_attributes(rate_authorization(user.policy, vendor), lines, template_vars(user, user_name),
                                       dict_);
}

Task<std::optional<Packet>> Service::reauthorize(const Packet& request, const Nas& nas,
                                                const store::RadiusUser& user) {
  using namespace radius;
  const auto terminate = [&](std::string_view cause, std::string_view message) {
    Packet p = reject(request, message);
    p.attributes.push_back(cisco_avpair_attribute("crb-terminate-cause", cause));
    return p;
  };
  auto acct_session = cisco_avpair(request, "crb-session-id");
  if (!acct_session) acct_session = get_string(request, attr::AcctSessionId);
  if (!acct_session || acct_session->empty()) co_return terminate("14", "Invalid session");
  const std::string sid = session_id(nas.address, *acct_session);

  // Used amounts are running totals of the session, like accounting's.
  std::optional<std::uint64_t> volume = to_u64(cisco_avpair(request, "crb-total-volume"));
  const auto up = to_u64(cisco_avpair(request, "crb-uplink-volume"));
  const auto down = to_u64(cisco_avpair(request, "crb-downlink-volume"));
  if (!volume && (up || down)) volume = up.value_or(0) + down.value_or(0);
  const auto duration = to_u64(cisco_avpair(request, "crb-duration"));

  // The store charges them less what the session was already charged.
  UsageReport used;
  used.amount.total_octets = volume.value_or(0);
  used.amount.seconds = duration.value_or(0);
  auto req = charge_request(
      sid, "crb/" + std::to_string(volume.value_or(0)) + "/" + std::to_string(duration.value_or(0)),
      RequestKind::Update, nas, config_.rating_group);
  req.credit.rating_groups.front().wants_grant = true;
  req.credit.rating_groups.front().used.push_back(used);
  req.running_totals = true;
  const store::ChargeResult r = co_await db_.charge(req, now_());
  if (r.status == store::ChargeStatus::UnknownSession) {
    log_->info("radius.crb.terminate nas={} session={} cause=invalid_session", nas.name, sid);
    co_return terminate("14", "Invalid session");
  }
  if (r.status != store::ChargeStatus::Ok) co_return terminate("5", "Invalid user");
  const Outcome o = r.decision.outcome;
  if (o == Outcome::Denied) {
    log_->info("radius.crb.terminate nas={} session={} cause=suspended", nas.name, sid);
    co_return terminate("4", "Services suspended");
  }
  const Grant* g = grant_of(r);
  if (no_credit(o) || !g) {
    log_->info("radius.crb.terminate nas={} session={} cause=balance outcome={}", nas.name, sid, to_string(o));
    co_return terminate("1", "Balance exhausted");
  }
  Authorization a;
  a.vendor = NasVendor::Cisco;
  a.cisco_crb = true;
  set_quota(a, *g);
  a.class_value = "ocs:" + sid;
  Packet reply = reply_to(request, code::AccessAccept);
  reply.attributes = authorization_attributes(a);
  log_->info("radius.crb.quota nas={} user={} session={} charged={} quota_octets={} quota_seconds={}", nas.name,
             user.external_id, sid, r.decision.total_cost(), a.quota_octets.value_or(0), a.quota_seconds.value_or(0));
  co_return reply;
}

void Service::remember_client(store::ChargeRequest& r, const Packet& request, const std::string& acct_session_id) {
  using namespace radius;
  auto& client = r.origin.client;
  client.clear();
  // Only what the database can hold as text (CoA then does without).
  if (const auto user = text_attribute(request, attr::UserName)) client.emplace_back("user_name", *user);
  if (is_text(acct_session_id)) client.emplace_back("acct_session_id", acct_session_id);
  if (const auto ip = get_ipaddr(request, kFramedIpAddress)) {
    client.emplace_back("framed_ip", std::to_string(*ip >> 24) + "." + std::to_string((*ip >> 16) & 255) + "." +
                                         std::to_string((*ip >> 8) & 255) + "." + std::to_string(*ip & 255));
  }
}

void Service::exhausted(const std::string& sid, std::int64_t subscriber_id,
                        const std::optional<std::string>& user_name, const Nas& nas) {
  if (!on_exhausted_) return;
  // As at Access-Request: the RADIUS policy's radius_on_no_credit says
  // hotline (restrict to the portal or filter) or not (end the session).
  radius::CoaPolicy policy;
  if (user_name) {
    if (const auto user = store_.find_user(*user_name, std::string(radius::to_string(nas.vendor)));
        user && user->policy.hotline_when_no_credit) {
      policy.on_exhausted = radius::CoaPolicy::OnExhausted::Hotline;
      policy.hotline_filter_id = user->policy.restriction_filter_id.value_or("");
      policy.redirect_url = user->policy.hotline_url.value_or("");
    }
  }
  log_->info("radius.acct.exhausted nas={} session={} on_exhausted={}", nas.name, sid,
             policy.on_exhausted == radius::CoaPolicy::OnExhausted::Hotline ? "hotline" : "disconnect");
  try {
    on_exhausted_(sid, subscriber_id, policy);
  } catch (const std::exception& e) {
    // The charge is committed: answer the NAS anyway; only the CoA is lost.
    log_->error("radius.coa.exhausted_failed session={} error=\"{}\"", sid, e.what());
  }
}

Task<std::optional<Packet>> Service::accounting(const Packet& request, const Nas& nas) {
  using namespace radius;
  const auto status = get_integer(request, attr::AcctStatusType);
  if (!status) {
    log_->warn("radius.acct.invalid nas={} reason=no_acct_status_type", nas.name);
    co_return std::nullopt;
  }
  const Packet response = reply_to(request, code::AccountingResponse);
  const TimePoint now = now_();

  if (*status == acct_status::AccountingOn || *status == acct_status::AccountingOff) {
    const char* reason = *status == acct_status::AccountingOn ? "accounting-on" : "accounting-off";
    std::size_t closed = 0;
    co_await db_.run([&] {
      for (const auto& sid : store_.open_sessions_of_nas(nas.address))
        if (charging_.close_session(sid, reason, now)) ++closed;
    });
    log_->info("radius.acct.{} nas={} closed_sessions={}", reason, nas.name, closed);
    co_return response;
  }

  const auto acct_session = get_string(request, attr::AcctSessionId);
  if (!acct_session || acct_session->empty()) {
    log_->warn("radius.acct.invalid nas={} reason=no_acct_session_id", nas.name);
    co_return std::nullopt;
  }
  const std::string sid = session_id(nas.address, *acct_session);
  const auto user_name = text_attribute(request, attr::UserName);
  const auto with_identity = [&](store::ChargeRequest& r) {
    if (user_name) r.identities.push_back(store::Identity{store::IdentityKind::Username, *user_name});
  };
  const Totals totals = totals_of(request);
  const std::string totals_key = std::to_string(totals.input_octets) + "/" + std::to_string(totals.output_octets) +
                                 "/" + std::to_string(totals.seconds);
  // The running totals as reported: the store charges them less what the
  // session was already charged, in the same round trip as the rest
  // (ChargeRequest::running_totals).
  UsageReport usage;
  usage.amount.input_octets = totals.input_octets;
  usage.amount.output_octets = totals.output_octets;
  usage.amount.total_octets = totals.input_octets + totals.output_octets;
  usage.amount.seconds = totals.seconds;

  switch (*status) {
    case acct_status::Start: {
      // The grant of an Access-Request without Acct-Session-Id was held by a
      // provisional session named in Class: the real session replaces it.
      if (const auto cls = get_string(request, attr::Class)) {
        const std::string prefix = "ocs:" + nas.address + "/auth/";
        if (cls->starts_with(prefix) && is_text(*cls)) {
          const std::string provisional = cls->substr(4);
          co_await db_.run([&] { (void)charging_.close_session(provisional, "accounting-start", now); });
        }
      }
      auto r = charge_request(sid, "start", RequestKind::Initial, nas, config_.rating_group);
      r.credit.rating_groups.front().wants_grant = true;
      with_identity(r);
      remember_client(r, request, *acct_session);
      // The usual case: the Access-Request opened the session with a grant,
      // which stands; only what the NAS says now (Framed-IP...) is new. No
      // second decision, one UPDATE instead of a charge, committed with the
      // charges of the group commit's next batch.
      auto attach = r;
      attach.attach_only = true;
      const store::ChargeResult attached = co_await db_.charge(attach, now);
      if (attached.status == store::ChargeStatus::Ok) {
        log_->info("radius.acct.start nas={} session={} attached=true", nas.name, sid);
        co_return response;
      }
      co_await charge(r, now, "start", nas);
      co_return response;
    }
    case acct_status::InterimUpdate: {
      auto r = charge_request(sid, "interim/" + totals_key, RequestKind::Update, nas, config_.rating_group);
      r.credit.rating_groups.front().wants_grant = true;
      r.credit.rating_groups.front().used.push_back(usage);
      r.running_totals = true;
      const store::ChargeResult res = co_await charge(r, now, "interim", nas);
      if (res.status == store::ChargeStatus::Ok && !res.replayed && !res.was_exhausted &&
          no_credit(res.decision.outcome)) {
        // The session had credit and has none left: only CoA/Disconnect can
        // tell the NAS (an Accounting-Response carries nothing).
        const std::int64_t subscriber_id = res.subscriber_id;
        co_await db_.run([&] { exhausted(sid, subscriber_id, user_name, nas); });
      }
      if (res.status == store::ChargeStatus::UnknownSession) {
        // The Start was lost (or the session closed): open it with the usage.
        r.credit.kind = RequestKind::Initial;
        with_identity(r);
        remember_client(r, request, *acct_session);
        co_await charge(r, now, "interim_open", nas);
      }
      co_return response;
    }
    case acct_status::Stop: {
      // The totals are part of the key: a replayed Stop repeats them, while
      // a NAS that reuses an Acct-Session-Id after a reboot reports others.
      auto r = charge_request(sid, "stop/" + totals_key, RequestKind::Terminate, nas, config_.rating_group);
      r.credit.rating_groups.front().used.push_back(usage);
      r.running_totals = true;
      const store::ChargeResult stopped = co_await charge(r, now, "stop", nas);
      if (stopped.status == store::ChargeStatus::UnknownSession) {
        // Never lose usage: open the session with it, then close it.
        auto open = charge_request(sid, "stop-open/" + totals_key, RequestKind::Initial, nas, config_.rating_group);
        open.credit.rating_groups.front().used = r.credit.rating_groups.front().used;
        open.running_totals = true;
        with_identity(open);
        const store::ChargeResult opened = co_await charge(open, now, "stop_open", nas);
        if (opened.status == store::ChargeStatus::Ok) {
          r.credit.rating_groups.front().used.clear();
          co_await charge(r, now, "stop", nas);
        }
      }
      co_return response;
    }
    default:
      log_->info("radius.acct.ignored nas={} session={} status_type={}", nas.name, sid, *status);
      co_return response;
  }
}

Task<store::ChargeResult> Service::charge(const store::ChargeRequest& r, TimePoint now, const char* event,
                                          const Nas& nas) {
  store::ChargeResult res = co_await db_.charge(r, now);
  log_->info("radius.acct.{} nas={} session={} key={} status={} outcome={} cost={} replayed={}", event, nas.name,
             r.session_id, r.request_key, store::to_string(res.status), to_string(res.decision.outcome),
             res.decision.total_cost(), res.replayed);
  co_return res;
}

}  // namespace ocs::radiusd
