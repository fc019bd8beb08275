// Cross-check against an independent implementation: FreeRADIUS's radclient
// (freeradius-utils) sends to a UDP socket bound here on 127.0.0.1:0; the
// request must decode and verify with our code, and our signed answer (with
// Message-Authenticator first) must be accepted by radclient, which checks
// the Response Authenticator and Message-Authenticator itself.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "ocs/radius/auth.hpp"
#include "ocs/radius/packet.hpp"
#include "udp_socket.hpp"

extern char** environ;

namespace ocs::radius {
namespace {

constexpr const char* kRadclient = "/usr/bin/radclient";
constexpr std::string_view kSecret = "cross-check-secret";

using ocs::test::UdpSocket;

// Starts radclient with `attributes` on its stdin; returns its pid.
pid_t start_radclient(int port, const std::string& type, const std::string& attributes) {
  int in[2];
  if (::pipe(in) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const std::string server = "127.0.0.1:" + std::to_string(port);
  const std::string secret(kSecret);
  std::vector<std::string> args = {kRadclient, "-q", "-r", "1", "-t", "3", server, type, secret};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, kRadclient, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  if (rc != 0) {
    ::close(in[1]);
    throw std::runtime_error("posix_spawn radclient failed");
  }
  const ssize_t written = ::write(in[1], attributes.data(), attributes.size());
  (void)written;
  ::close(in[1]);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class Radclient : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kRadclient)) GTEST_SKIP() << "radclient not installed";
  }

  // Sends, checks the request with `check`, answers with `answer`, and
  // returns radclient's exit status (0: it accepted our answer).
  template <typename Check>
  int exchange(const std::string& type, const std::string& attributes, std::uint8_t answer_code,
               Check check, std::string_view answer_secret = kSecret) {
    UdpSocket sock;
    const pid_t pid = start_radclient(sock.port(), type, attributes);
    const auto request = sock.receive(5000);
    if (!request) {
      ADD_FAILURE() << "radclient sent nothing";
      ::kill(pid, SIGTERM);
      wait_exit(pid);
      return -1;
    }
    const DecodeResult r = decode(*request);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : to_string(*r.error));
    if (r.ok()) check(r.packet, *request);

    Packet answer;
    answer.code = answer_code;
    answer.identifier = r.packet.identifier;
    add_string(answer, 18, "ok from ocs");
    add_message_authenticator(answer);
    auto bytes = encode(answer).bytes;
    EXPECT_TRUE(finish_response(bytes, r.packet.authenticator, answer_secret));
    sock.reply(bytes);
    return wait_exit(pid);
  }
};

TEST_F(Radclient, AccessRequestPap) {
  const int rc = exchange("auth", "User-Name = \"nemo\"\nUser-Password = \"arctangent-is-longer-than-16\"\n",
                          code::AccessAccept, [](const Packet& p, const std::vector<std::uint8_t>& wire) {
                            EXPECT_EQ(p.code, code::AccessRequest);
                            EXPECT_EQ(verify_request(wire, kSecret), VerifyResult::Ok);
                            EXPECT_EQ(get_string(p, attr::UserName), "nemo");
                            const Attribute* pw = p.find(attr::UserPassword);
                            ASSERT_NE(pw, nullptr);
                            EXPECT_EQ(unhide_password(pw->value, p.authenticator, kSecret),
                                      "arctangent-is-longer-than-16");
                          });
  EXPECT_EQ(rc, 0) << "radclient refused our Access-Accept";
}

TEST_F(Radclient, AccessRequestChap) {
  const int rc = exchange("auth", "User-Name = \"flopsy\"\nCHAP-Password = \"hop-hop\"\n", code::AccessAccept,
                          [](const Packet& p, const std::vector<std::uint8_t>&) {
                            EXPECT_TRUE(verify_chap(p, "hop-hop"));
                            EXPECT_FALSE(verify_chap(p, "hop-hoq"));
                          });
  EXPECT_EQ(rc, 0);
}

TEST_F(Radclient, AccountingRequest) {
  const int rc = exchange(
      "acct",
      "Acct-Status-Type = Interim-Update\nAcct-Session-Id = \"s-1\"\nAcct-Input-Octets = 123\n"
      "Acct-Output-Gigawords = 2\nMikrotik-Rate-Limit = \"1M/2M\"\n",
      code::AccountingResponse, [](const Packet& p, const std::vector<std::uint8_t>& wire) {
        EXPECT_EQ(p.code, code::AccountingRequest);
        EXPECT_EQ(verify_request(wire, kSecret), VerifyResult::Ok);
        EXPECT_EQ(verify_request(wire, "not-the-secret"), VerifyResult::BadAuthenticator);
        EXPECT_EQ(get_integer(p, 40), 3U);
        EXPECT_EQ(get_integer(p, 53), 2U);
        EXPECT_EQ(get_string(p, 8, 14988), "1M/2M");
      });
  EXPECT_EQ(rc, 0);
}

TEST_F(Radclient, CoaRequestAck) {
  const int rc = exchange("coa", "User-Name = \"alice\"\nAcct-Session-Id = \"s-1\"\n", code::CoaAck,
                          [](const Packet& p, const std::vector<std::uint8_t>& wire) {
                            EXPECT_EQ(p.code, code::CoaRequest);
                            EXPECT_EQ(verify_request(wire, kSecret), VerifyResult::Ok);
                          });
  EXPECT_EQ(rc, 0);
}

TEST_F(Radclient, DisconnectRequestNak) {
  const int rc = exchange("disconnect", "User-Name = \"alice\"\nResponse-Packet-Type = Disconnect-NAK\n", code::DisconnectNak,
                          [](const Packet& p, const std::vector<std::uint8_t>& wire) {
                            EXPECT_EQ(p.code, code::DisconnectRequest);
                            EXPECT_EQ(verify_request(wire, kSecret), VerifyResult::Ok);
                          });
  EXPECT_EQ(rc, 0);
}

// Negative control: an answer signed with another secret is refused.
TEST_F(Radclient, RefusesAnswerSignedWithWrongSecret) {
  const int rc = exchange("auth", "User-Name = \"nemo\"\nUser-Password = \"x\"\n", code::AccessAccept,
                          [](const Packet&, const std::vector<std::uint8_t>&) {}, "wrong-secret");
  EXPECT_NE(rc, 0);
}

}  // namespace
}  // namespace ocs::radius
