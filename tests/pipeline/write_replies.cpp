// Writes, as a pcap file, ARP requests and Neighbor Solicitations for CAs an
// HNV pipeline knows, each followed by the reply the pipeline built in its
// place, for check_replies.py to decode with tshark.
//   write_replies OUT.pcap
#include <cstdio>
#include <cstring>
#include <vector>

#include "frames.hpp"
#include "nvo/pipeline/pipeline.hpp"

namespace {

using namespace pipeline_test;
namespace np = nvo::pipeline;
namespace tbl = nvo::table;

void put32(std::FILE* f, std::uint32_t v) { std::fwrite(&v, 4, 1, f); }  // pcap: the writer's byte order
void put16(std::FILE* f, std::uint16_t v) { std::fwrite(&v, 2, 1, f); }

void record(std::FILE* f, const std::byte* data, std::size_t n, std::uint32_t t) {
  put32(f, t);
  put32(f, 0);
  put32(f, static_cast<std::uint32_t>(n));
  put32(f, static_cast<std::uint32_t>(n));
  std::fwrite(data, 1, n, f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_replies OUT.pcap\n");
    return 2;
  }
  using l3_t = tbl::l3_forwarding_table<>;
  using hnv_t = np::basic_pipeline<np::policy::encapsulation<np::encap::nvgre>, np::policy::lookup<np::lookup::l3<l3_t>>>;
  l3_t l3;
  np::endpoint_templates<> templates;
  const w::ip_address pa = w::ipv4_address{{10, 0, 0, 2}};
  const tbl::l3_entry e{{.provider = pa, .encap = w::encapsulation::nvgre, .tunnel_id = 0x1234},
                        w::mac_address::from_u64(0x00155D000042)};
  const w::ip_address ca4 = w::ipv4_address{{192, 168, 0, 2}};
  const w::ip_address ca6 = v6(0x42);
  if (!l3.add(0x1234, ca4, e).ok() || !l3.add(0x1234, ca6, e).ok()) return 1;
  hnv_t p({}, np::lookup::l3<l3_t>(l3), templates);

  std::FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr) return 1;
  put32(f, 0xa1b2c3d4);
  put16(f, 2);
  put16(f, 4);
  put32(f, 0);
  put32(f, 0);
  put32(f, 65535);
  put32(f, 1);  // LINKTYPE_ETHERNET
  const std::vector<inner_spec> requests = {
      {.k = kind::arp, .dst = w::mac_address::from_u64(0xFFFFFFFFFFFF), .dst_ip = ca4},
      {.k = kind::arp, .vlan = true, .dst = w::mac_address::from_u64(0xFFFFFFFFFFFF), .dst_ip = ca4},
      {.k = kind::neighbor_solicitation, .size = 0, .dst = w::mac_address::from_u64(0x3333FF000042),
       .src_ip = v6(0x10), .dst_ip = ca6},
  };
  std::uint32_t t = 1;
  for (const auto& r : requests) {
    const bytes_vec req = make_inner(r);
    packet pk(req);
    record(f, req.data(), req.size(), t++);
    if (p.encapsulate(pk.buf, 0x1234).act != np::action::reply) return 1;
    record(f, pk.buf.data(), pk.buf.size(), t++);
  }
  return std::fclose(f) == 0 ? 0 : 1;
}
