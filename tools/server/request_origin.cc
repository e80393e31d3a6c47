#include "tools/server/request_origin.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

namespace bitjit::server {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The host part of a Host header: "[::1]:8080" -> "::1", "Name:80" -> "name".
std::string HostPart(const std::string& header) {
  if (!header.empty() && header[0] == '[') {
    const size_t end = header.find(']');
    return end == std::string::npos ? "" : header.substr(1, end - 1);
  }
  std::string host = header.substr(0, header.find(':'));
  // A fully qualified name may end with a dot ("localhost.").
  if (!host.empty() && host.back() == '.') host.pop_back();
  return Lower(host);
}

bool IsIpAddress(const std::string& host, bool loopback_only) {
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return !loopback_only || (ntohl(v4.s_addr) >> 24) == 127;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return !loopback_only || IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

}  // namespace

bool HostAllowed(const std::string& host_header, const std::vector<std::string>& allowed_names) {
  if (host_header.empty()) return true;
  const std::string host = HostPart(host_header);
  if (host.empty()) return false;
  if (host == "localhost" || IsIpAddress(host, /*loopback_only=*/false)) return true;
  return std::any_of(allowed_names.begin(), allowed_names.end(),
                     [&](const std::string& name) { return Lower(name) == host; });
}

bool IsJsonContentType(const std::string& content_type) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  return type == "application/json";
}

bool IsLoopbackHost(const std::string& host) {
  const std::string h = HostPart(host.find(':') != std::string::npos && host[0] != '['
                                     ? "[" + host + "]"  // a bare IPv6 address
                                     : host);
  return h == "localhost" || IsIpAddress(h, /*loopback_only=*/true);
}

}  // namespace bitjit::server
