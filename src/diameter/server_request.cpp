#include "server_request.hpp"

#include <ctime>
#include <memory>
#include <string_view>

namespace ocs::diameter {

namespace fdx = ocs::fdx;

std::optional<std::uint32_t> result_of(msg* answer) {
  std::optional<std::uint32_t> code;
  fdx::for_each_child(answer, [&](avp* a) {
    const avp_hdr* h = fdx::header(a);
    if (h->avp_code == 268 && !(h->avp_flags & AVP_FLAG_VENDOR)) code = fdx::u32_of(a);
    if (h->avp_code == 297 && !code)  // Experimental-Result
      if (avp* c = fdx::first_child(a, 298)) code = fdx::u32_of(c);
  });
  return code;
}

namespace {

void on_answer(void* data, msg** answer) {
  std::unique_ptr<AnswerHandler> handler(static_cast<AnswerHandler*>(data));
  std::optional<std::uint32_t> code;
  try {
    if (answer && *answer) code = result_of(*answer);
  } catch (...) {
    code.reset();
  }
  (*handler)(code, false);
  if (answer && *answer) {
    (void)fd_msg_free(*answer);
    *answer = nullptr;
  }
}

void on_expired(void* data, DiamId_t /*peer*/, std::size_t /*len*/, msg** request) {
  std::unique_ptr<AnswerHandler> handler(static_cast<AnswerHandler*>(data));
  (*handler)(std::nullopt, true);
  if (request && *request) {
    (void)fd_msg_free(*request);
    *request = nullptr;
  }
}

int route_to_destination_host(void* data, msg** pmsg, fd_list* candidates) {
  try {
    if (!pmsg || !*pmsg) return 0;
    const msg_hdr* h = fdx::header(*pmsg);
    const auto app = *static_cast<const application_id_t*>(data);
    if (!(h->msg_flags & CMD_FLAG_REQUEST) || h->msg_appl != app) return 0;
    if (h->msg_code != 258 && h->msg_code != 274) return 0;
    const auto dest = fdx::str_of(fdx::first_child(*pmsg, 293));
    if (!dest) return 0;
    for (fd_list* li = candidates->next; li != candidates; li = li->next) {
      auto* c = reinterpret_cast<rtd_candidate*>(li);
      if (std::string_view(c->diamid, c->diamidlen) != *dest) c->score += FD_SCORE_NO_DELIVERY;
    }
  } catch (...) {
    // Leave the scores as they are: freeDiameter's own routing decides.
  }
  return 0;
}

}  // namespace

bool send_request(msg** m, int timeout_ms, AnswerHandler handler) {
  timespec deadline{};
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += static_cast<long>(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  auto* pending = new AnswerHandler(std::move(handler));
  const int rc = fd_msg_send_timeout(m, on_answer, pending, on_expired, &deadline);
  if (rc != 0) {
    delete pending;
    if (*m) {
      (void)fd_msg_free(*m);
      *m = nullptr;
    }
    return false;
  }
  return true;
}

void DestinationHostRouting::register_for(application_id_t application) {
  auto app = std::make_unique<application_id_t>(application);
  fd_rt_out_hdl* h = nullptr;
  fdx::fd_check(fd_rt_out_register(route_to_destination_host, app.get(), 0, &h), "fd_rt_out_register");
  handles_.push_back(h);
  apps_.push_back(std::move(app));
}

void DestinationHostRouting::unregister() noexcept {
  for (auto* h : handles_) (void)fd_rt_out_unregister(h, nullptr);
  handles_.clear();
  apps_.clear();
}

}  // namespace ocs::diameter
