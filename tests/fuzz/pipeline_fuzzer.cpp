// libFuzzer target for the pipeline: both directions take untrusted bytes
// (decapsulation from the underlay, encapsulation from a tenant). Input: one
// mode byte, then the frame.
//   byte 0, bits 0-1: 0 decapsulate (anti-spoofing on), 1 decapsulate with
//                     learning, 2 encapsulate (l2, VXLAN), 3 encapsulate (HNV
//                     l3, NVGRE) and build_too_big
//           bit 2:    the NIC reports the outer L4 checksum good
//
// Properties: a packet that is not forwarded (or answered) is left exactly
// as it arrived; a decapsulated packet is the inner frame dissect() finds, in
// place (or, for the STT segment that completes a frame, the whole
// reassembled frame of the length its segments claimed); an encapsulated one dissects back to the tenant's frame with every
// checksum valid; replies and ICMP messages stay inside their buffers; the
// learning table stays within its configured capacity.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "nvo/pipeline/pipeline.hpp"

namespace {

namespace np = nvo::pipeline;
namespace tbl = nvo::table;
namespace w = nvo::wire;
using nvo_fuzz::check;

using fdb_t = tbl::l2_forwarding_table<tbl::policy::learning<true>>;
using l3_t = tbl::l3_forwarding_table<>;

// The seeds' underlay addresses (tests/pcap/generate.py): 10.0.0.1 -> 10.0.0.2
// and 2001:db8::1 -> 2001:db8:0:1::2, so seeds reach past the address check.
const w::ip_address pa4_a = w::ipv4_address{{10, 0, 0, 1}};
const w::ip_address pa4_b = w::ipv4_address{{10, 0, 0, 2}};
const w::ip_address pa6_a = w::ipv6_address{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
const w::ip_address pa6_b = w::ipv6_address{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}};

struct world {
  l3_t l3;
  fdb_t fdb{tbl::l2_options{.entries = {.capacity = 1024, .max_capacity = 4096}, .learn_limit_per_vni = 64}};
  np::endpoint_templates<> templates;
  np::pipeline_options options;

  world() {
    options.local_ipv4 = pa4_b;
    options.local_ipv6 = pa6_b;
    for (auto e : {w::encapsulation::vxlan, w::encapsulation::nvgre, w::encapsulation::stt}) {
      (void)templates.set({.local = pa4_b, .remote = pa4_a, .encap = e});
      (void)templates.set({.local = pa6_b, .remote = pa6_a, .encap = e});
    }
    for (std::uint32_t vni = 0; vni < 256; ++vni) (void)fdb.add_member(vni, pa4_a);
    (void)fdb.set_flood_list(1, std::vector<w::ip_address>{pa4_a});
    // Tenant frames of tests/pcap/generate.py go between these MACs and CAs.
    (void)fdb.add_static(0, w::mac_address::from_u64(0x020000000002), {.provider = pa4_a, .tunnel_id = 7});
    const tbl::l3_entry e{{.provider = pa4_a, .encap = w::encapsulation::nvgre, .tunnel_id = 0x1000},
                          w::mac_address::from_u64(0x00155D000001)};
    (void)l3.add(0, w::ipv4_address{{192, 168, 0, 2}}, e);
    (void)l3.add(0, w::ipv6_address{{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}}, e);
  }
};

world& the_world() {
  static world wd;
  return wd;
}

using guarded_t = np::basic_pipeline<np::policy::encapsulation<np::encap::per_endpoint>,
                                     np::policy::lookup<np::lookup::l2<fdb_t>>, np::policy::anti_spoofing<true>>;
using learner_t = np::basic_pipeline<np::policy::encapsulation<np::encap::per_endpoint>,
                                     np::policy::lookup<np::lookup::l2<fdb_t>>, np::policy::learning<true>>;
using encap_t = np::basic_pipeline<np::policy::encapsulation<np::encap::vxlan>, np::policy::lookup<np::lookup::l2<fdb_t>>,
                                   np::policy::checksum<np::checksum::software>>;
using hnv_t = np::basic_pipeline<np::policy::encapsulation<np::encap::nvgre>, np::policy::lookup<np::lookup::l3<l3_t>>>;

constexpr std::size_t headroom = 128;

template <class Pipeline>
void decap(Pipeline& p, w::const_bytes frame, bool nic_good) {
  std::vector<std::byte> storage(headroom + frame.size());
  std::copy(frame.begin(), frame.end(), storage.begin() + headroom);
  np::buffer b(storage, headroom, frame.size());
  b.set_rx_checksum(nic_good ? w::rx_checksum::good : w::rx_checksum::unknown);
  const np::verdict v = p.decapsulate(b);
  if (!v.ok()) {
    check(b.data() == storage.data() + headroom && b.size() == frame.size());
    check(std::equal(frame.begin(), frame.end(), storage.begin() + headroom));
    return;
  }
  const auto d = w::dissect(frame, {.accept_zero_udp6_checksum = false},
                            nic_good ? w::rx_checksum::good : w::rx_checksum::unknown);
  check(d.has_value());
  if (d->encap == w::encapsulation::stt &&
      !(d->has_stt_frame_header && d->stt.frame_length == d->inner.size() + w::stt::frame_header_size)) {
    // The segment that completed a reassembled frame: the frame is delivered
    // in this segment's buffer, whole.
    check(b.data() >= storage.data() && b.data() + b.size() <= storage.data() + storage.size());
    check(b.size() + w::stt::frame_header_size == d->stt.frame_length);
    return;
  }
  check(d->inner_starts_frame());
  const auto offset = static_cast<std::size_t>(d->inner.data() - frame.data());
  check(b.data() == storage.data() + headroom + offset && b.size() == d->inner.size());
  // Only the inner IP header's ECN field and checksum may differ (RFC 6040 egress).
  std::size_t differing = 0;
  for (std::size_t i = 0; i < b.size(); ++i) differing += b.data()[i] != d->inner[i];
  check(differing <= 4);
}

void encap(w::const_bytes frame) {
  world& wd = the_world();
  static encap_t p(wd.options, np::lookup::l2<fdb_t>(wd.fdb), wd.templates);
  std::vector<std::byte> storage(headroom + frame.size() + 64);
  std::copy(frame.begin(), frame.end(), storage.begin() + headroom);
  np::buffer b(storage, headroom, frame.size());
  const np::verdict v = p.encapsulate(b, 0);
  if (!v.ok()) {
    check(b.size() == frame.size() && std::equal(frame.begin(), frame.end(), storage.begin() + headroom));
    if (v.act == np::action::flood) {
      std::vector<std::byte> cs(headroom + frame.size() + 64);
      np::buffer c(cs, headroom, 0);
      std::array<np::buffer*, 1> copies{&c};
      std::array<np::verdict, 1> cv;
      if (p.encapsulate_flood(b, 0, std::span<np::buffer* const>(copies), cv) == 1 && cv[0].ok())
        check(w::dissect(w::const_bytes(c.data(), c.size())).has_value());
    }
    return;
  }
  const auto d = w::dissect(w::const_bytes(b.data(), b.size()));
  check(d.has_value() && d->encap == w::encapsulation::vxlan);
  check(std::equal(d->inner.begin(), d->inner.end(), frame.begin(), frame.end()));
}

void encap_l3(w::const_bytes frame) {
  world& wd = the_world();
  static hnv_t p(wd.options, np::lookup::l3<l3_t>(wd.l3), wd.templates);
  std::vector<std::byte> storage(headroom + frame.size());
  std::copy(frame.begin(), frame.end(), storage.begin() + headroom);
  np::buffer b(storage, headroom, frame.size());
  const np::verdict v = p.encapsulate(b, 0);
  if (v.act == np::action::reply) {
    check(b.data() >= storage.data() && b.data() + b.size() <= storage.data() + storage.size());
  } else if (v.ok()) {
    const auto d = w::dissect(w::const_bytes(b.data(), b.size()));
    check(d.has_value() && d->encap == w::encapsulation::nvgre && d->inner.size() == frame.size());
    check(std::equal(d->inner.begin() + 6, d->inner.end(), frame.begin() + 6, frame.end()));
  } else {
    check(b.size() == frame.size() && std::equal(frame.begin(), frame.end(), storage.begin() + headroom));
  }
  std::array<std::byte, 1400> icmp;
  const auto n = np::build_too_big(frame, 1280, icmp);
  if (n) check(*n <= icmp.size() && *n >= 14 + 28);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto frame = nvo_fuzz::as_bytes(data + 1, size - 1);
  world& wd = the_world();
  const bool nic_good = (data[0] & 4) != 0;
  switch (data[0] & 3) {
    case 0: {
      static guarded_t p(wd.options, np::lookup::l2<fdb_t>(wd.fdb), wd.templates);
      decap(p, frame, nic_good);
      break;
    }
    case 1: {
      static learner_t p(wd.options, np::lookup::l2<fdb_t>(wd.fdb), wd.templates);
      decap(p, frame, nic_good);
      // Bounded whatever sources arrive: max_capacity caps the slots (rounded
      // up to whole buckets at the table's load factor), the stash adds 8.
      check(wd.fdb.entries().slot_count() <= 4 * 4096 && wd.fdb.size() <= wd.fdb.entries().slot_count() + 8);
      break;
    }
    case 2: encap(frame); break;
    case 3: encap_l3(frame); break;
  }
  return 0;
}
