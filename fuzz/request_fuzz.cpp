// libFuzzer target for the attach protocol's parsers (src/host/protocol.cpp), the first code that
// sees a client's bytes: any input must parse without a crash, a leak or a read outside it, and
// whatever parses as a frame must encode back to exactly the bytes it was parsed from. The input
// is also fed as the server receives it, in pieces, to check that a frame parses the same whole
// or split.
#include <cstring>

#include "host/protocol.h"

using namespace cpustop::host;

namespace {

void same_or_trap(const std::string& encoded, const std::uint8_t* data, std::size_t used) {
  if (encoded.size() != used || std::memcmp(encoded.data(), data, used) != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  request req;
  std::size_t used = 0;
  std::uint16_t version = 0;
  parse_result whole = parse_request(in, &req, &used, &version);
  (void)parse_result_text(whole, version);
  if (whole == parse_result::ok) {
    if (req.argv.empty() || req.argv.size() > MAX_ARGS || used > size) __builtin_trap();
    same_or_trap(encode_request(req.argv, req.cwd), data, used);
  }
  // Every prefix of a frame is incomplete or decides the same way as the whole.
  for (std::size_t cut : {std::size_t{1}, FRAME_HEADER - 1, FRAME_HEADER, size / 2}) {
    if (cut >= size) continue;
    request part;
    std::size_t u = 0;
    parse_result p = parse_request(in.first(cut), &part, &u);
    if (p != parse_result::incomplete && p != whole && !(whole == parse_result::ok && cut >= used))
      __builtin_trap();
  }
  reply rep;
  if (parse_reply(in, &rep, &used) == parse_result::ok) {
    if (used > size) __builtin_trap();
    same_or_trap(encode_reply(rep), data, used);
  }
  return 0;
}
