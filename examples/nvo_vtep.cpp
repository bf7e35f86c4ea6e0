// nvo-vtep: a userspace tunnel endpoint on Linux sockets. The inner side is a
// TAP device (the "VM"); the underlay side is an AF_PACKET socket on an
// interface, so nvo builds the whole outer frame (Ethernet, IP, UDP/GRE/TCP,
// tunnel header) itself. One thread owns both sockets, the pipelines and the
// forwarding table: decap learning writes the table, encap reads it.
//
// Both sockets carry a virtio_net_hdr before each frame (PACKET_VNET_HDR,
// IFF_VNET_HDR), because a sender on this host (a kernel VXLAN device behind
// a veth) hands the underlay its frames with checksum and segmentation
// offload still pending: the inner TCP checksum holds only the pseudo-header
// sum, and one frame may carry up to 64 KiB of TCP payload. Decap passes that
// state on to the TAP device, re-based on the inner frame, and the kernel
// completes it there, as it would for a frame from a VM. Frames nvo builds
// are complete, so their headers are all zeros. The same header lets decap
// hand the TAP runs of one TCP flow merged into one frame (tcp_coalescer).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "nvo/pipeline/reply.hpp"
#include "nvo/wire/ethernet.hpp"
#include "tunnel.hpp"
#include "vtep/tcp_offload.hpp"
#include "vtep/vtep_common.hpp"

namespace {

namespace np = nvo::pipeline;
namespace wire = nvo::wire;
using nvo_examples::config_error;
using namespace nvo_examples::vtep;

constexpr std::size_t headroom = 128;  // >= header_template::max_size
constexpr std::size_t burst_size = 32;
// A reassembled STT frame is delivered in its last segment's buffer, so every
// receive slot has room for the largest frame.
constexpr std::size_t frame_room = 65536;
constexpr std::size_t slot_size = headroom + frame_room;

constexpr std::string_view description = R"(nvo-vtep: a VXLAN/NVGRE/STT tunnel endpoint. Frames from the TAP device are
encapsulated by the nvo pipeline CONFIG describes (the TOML format of nvo-pcap,
see examples/data/vtep-a.toml) and sent as whole Ethernet frames on the
underlay interface through an AF_PACKET socket; tunnel packets received there
are decapsulated (learning as configured) and written to the TAP device.

SIGINT or SIGTERM stops it; it then prints one final counters line:
  nvo-vtep final: encapsulated=N decapsulated=N flooded=N replicas=N ...
    learned=N aged=N ... drop.REASON=N (one per nvo::pipeline::drop_reason seen)

exit status: 0 after a signal, 1 when CONFIG is bad or a device cannot be
opened (no such interface, no permission), 2 on a usage error.
)";

[[noreturn]] void fail_errno(std::string_view what) {
  const int e = errno;
  std::string msg = fmt::format("{}: {}", what, std::strerror(e));
  if (e == EPERM || e == EACCES) msg += " (needs CAP_NET_ADMIN and CAP_NET_RAW, e.g. root)";
  throw tool_error(msg);
}

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

constexpr std::size_t vnet_size = sizeof(virtio_net_hdr);

// Creates the TAP device NAME, or attaches to it if it exists, with
// IFF_VNET_HDR: the kernel takes partial checksums and GSO frames from us.
// With tso, it also hands us TCP frames of up to 64 KiB with the checksum
// pending (TUNSETOFFLOAD), which we cut ourselves; else only complete frames
// of the TAP's MTU.
int open_tap(const std::string& name, bool tso) {
  if (name.size() >= IFNAMSIZ) throw tool_error(fmt::format("TAP name too long: {}", name));
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail_errno("cannot open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail_errno(fmt::format("cannot create or attach TAP device {}", name));
  }
  if (tso && ::ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail_errno(fmt::format("TAP device {}: TUNSETOFFLOAD", name));
  }
  return fd;
}

inline constexpr int underlay_receive_buffer = 8 << 20;

// Frames the kernel dropped on fd for want of receive-buffer room since the
// last call (PACKET_STATISTICS counts from the previous read).
std::uint64_t underlay_drops_since(int fd) noexcept {
  tpacket_stats st{};
  socklen_t len = sizeof st;
  if (::getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return 0;
  return st.tp_drops;
}

// An AF_PACKET socket on IFACE that sees every frame (ETH_P_ALL), each after
// a virtio_net_hdr with the kernel's checksum and GSO state (PACKET_VNET_HDR).
int open_underlay(const std::string& iface) {
  const unsigned index = ::if_nametoindex(iface.c_str());
  if (index == 0) fail_errno(fmt::format("underlay interface {}", iface));
  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) fail_errno(fmt::format("cannot open a packet socket for {}", iface));
  const fd_guard guard(fd);
  const int on = 1;
  if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof on) < 0) fail_errno("PACKET_VNET_HDR");
  // Room for the bursts that arrive while a TAP write blocks the loop: the
  // default (net.core.rmem_default, ~208 KiB) holds about 140 full frames.
  // SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it
  // the kernel caps SO_RCVBUF there.
  const int rcvbuf = underlay_receive_buffer;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
    fail_errno("SO_RCVBUF");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(index);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sll), sizeof sll) < 0)
    fail_errno(fmt::format("cannot bind a packet socket to {}", iface));
  return ::dup(fd);  // the guard closes the original
}

// Buffers over one preallocated arena: no allocation per packet.
struct slots {
  slots(std::size_t count, std::size_t size) : size_(size), arena_(count * size), bufs_(count), ptrs_(count) {
    reset_all(0);
    for (std::size_t i = 0; i < count; ++i) ptrs_[i] = &bufs_[i];
  }
  [[nodiscard]] std::span<std::byte> storage(std::size_t i) { return {arena_.data() + i * size_, size_}; }
  np::buffer& operator[](std::size_t i) { return bufs_[i]; }
  [[nodiscard]] std::span<np::buffer* const> ptrs(std::size_t n) const { return {ptrs_.data(), n}; }
  [[nodiscard]] std::size_t count() const { return bufs_.size(); }
  // Every buffer empty with `room` bytes of headroom.
  void reset_all(std::size_t room) {
    for (std::size_t i = 0; i < bufs_.size(); ++i) bufs_[i] = np::buffer(storage(i), room, 0);
  }

 private:
  std::size_t size_;
  std::vector<std::byte> arena_;
  std::vector<np::buffer> bufs_;
  std::vector<np::buffer*> ptrs_;
};

class vtep {
 public:
  vtep(nvo_examples::vtep_state& s, int tap, int underlay, std::optional<std::uint32_t> vni)
      : state_(s),
        tap_(tap),
        underlay_(underlay),
        vni_(vni),
        enc_(nvo_examples::make_encapsulator(s)),
        dec_(nvo_examples::make_decapsulator(s)),
        tap_rx_(burst_size, slot_size),
        net_rx_(burst_size, slot_size),
        copies_(flood_fanout(s.config), slot_size),
        tso_(burst_size, slot_size),
        segments_(max_segments(s.options.underlay_mtu), std::size_t{s.options.underlay_mtu} + 64) {
    tx_.reserve(burst_size);
  }

  void tap_readable() {
    std::array<std::optional<std::uint32_t>, burst_size> tenant{};
    std::array<virtio_net_hdr, burst_size> offloads{};
    std::size_t n = 0;
    for (std::size_t reads = 0; reads < burst_size && n < burst_size; ++reads) {  // a burst of reads, kept or not
      const auto room = tap_rx_.storage(n).subspan(headroom);
      std::array<iovec, 2> iov{{{&offloads[n], vnet_size}, {room.data(), room.size()}}};
      const ssize_t got = ::readv(tap_, iov.data(), iov.size());
      if (got < 0) break;  // EAGAIN: drained
      if (static_cast<std::size_t>(got) < vnet_size) continue;
      tap_rx_[n].reset(headroom, static_cast<std::size_t>(got) - vnet_size);
      const virtio_net_hdr& h = offloads[n];
      if (h.gso_type == 0 && (h.flags & vnet_needs_csum) != 0 && !complete_checksum(tap_rx_[n].bytes(), h)) {
        ++c_.offload_refused;
        continue;
      }
      tenant[n] = tenant_of(state_.config, vni_, tap_rx_[n].bytes());
      ++n;
    }
    // Runs of one tenant go through the pipeline as one burst; a GSO frame
    // is cut into its own burst.
    for (std::size_t begin = 0; begin < n;) {
      if (!tenant[begin]) {
        ++c_.unknown_tenant;
        ++begin;
      } else if (offloads[begin].gso_type != 0) {
        encapsulate_gso(begin, offloads[begin], *tenant[begin]);
        ++begin;
      } else {
        std::size_t end = begin + 1;
        while (end < n && tenant[end] == tenant[begin] && offloads[end].gso_type == 0) ++end;
        encapsulate(tap_rx_, begin, end, *tenant[begin]);
        begin = end;
      }
    }
    flush();
  }

  void underlay_readable() {
    std::array<mmsghdr, burst_size> msgs{};
    std::array<std::array<iovec, 2>, burst_size> iov{};
    std::array<sockaddr_ll, burst_size> from{};
    for (std::size_t i = 0; i < burst_size; ++i) {
      const auto room = net_rx_.storage(i).subspan(headroom);
      iov[i] = {{{&net_vnet_[i], vnet_size}, {room.data(), room.size()}}};
      msgs[i].msg_hdr.msg_iov = iov[i].data();
      msgs[i].msg_hdr.msg_iovlen = iov[i].size();
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    const int got = ::recvmmsg(underlay_, msgs.data(), burst_size, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (got < 0 && errno == EINVAL) ++c_.offload_refused;  // the kernel consumed that frame
    if (got <= 0) return;
    std::array<np::buffer*, burst_size> burst{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
      if (from[i].sll_pkttype == PACKET_OUTGOING) {  // our own sends, and the kernel's
        ++c_.outgoing_ignored;
        continue;
      }
      if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || msgs[i].msg_len < vnet_size) {
        ++c_.truncated;
        continue;
      }
      np::buffer& b = net_rx_[i];
      b.reset(headroom, msgs[i].msg_len - vnet_size);
      // A pending checksum is one the kernel trusts (the frame never left
      // this host), as is a verified one.
      const bool trusted = (net_vnet_[i].flags & (vnet_needs_csum | vnet_data_valid)) != 0;
      b.set_rx_checksum(trusted ? wire::rx_checksum::good : wire::rx_checksum::unknown);
      slot_of_[n] = i;
      burst[n++] = &b;
    }
    std::array<np::verdict, burst_size> v{};
    dec_->set_time(now_);
    dec_->decapsulate({burst.data(), n}, {v.data(), n});
    const auto write = [this](std::span<const std::byte> f, const virtio_net_hdr& h) { to_tap(f, h); };
    for (std::size_t j = 0; j < n; ++j) {
      if (!v[j].ok()) continue;  // held, drops: nothing to write
      const std::size_t i = slot_of_[j];
      const auto stripped = static_cast<std::size_t>(burst[j]->data() - net_rx_.storage(i).subspan(headroom).data());
      const virtio_net_hdr h = inner_offloads(net_vnet_[i], stripped);
      const std::span<const std::byte> f = burst[j]->bytes();
      if (h.gso_type != 0) {  // already one large frame
        gro_.flush(write);
        to_tap(f, h);
        continue;
      }
      // From a stack on this host: its inner checksum is pending or right.
      const bool good = (net_vnet_[i].flags & vnet_needs_csum) != 0;
      if (gro_.add(f, h, good)) continue;
      gro_.flush(write);
      if (!gro_.add(f, h, good)) to_tap(f, h);
    }
    gro_.flush(write);
  }

  void tick(std::uint32_t now) {
    now_ = now;
    if (now != last_age_) {
      c_.aged += state_.fdb.age(now);
      c_.underlay_drops += underlay_drops_since(underlay_);
      last_age_ = now;
    }
  }

  [[nodiscard]] std::string counters_line() const {
    counters c = c_;
    c.coalesced = gro_.merged_segments();
    return nvo_examples::vtep::counters_line(enc_->counters(), dec_->counters(), c, state_.fdb.size());
  }

 private:
  // The offload state of an underlay frame, for its inner frame `stripped`
  // bytes further on. A pending checksum inside the outer headers (the outer
  // UDP checksum) is nothing the inner frame needs: it is complete then.
  static virtio_net_hdr inner_offloads(const virtio_net_hdr& outer, std::size_t stripped) {
    virtio_net_hdr h{};
    if ((outer.flags & vnet_needs_csum) != 0 && outer.csum_start >= stripped) {
      h.flags = vnet_needs_csum;
      h.csum_start = static_cast<std::uint16_t>(outer.csum_start - stripped);
      h.csum_offset = outer.csum_offset;
      h.gso_type = outer.gso_type;
      h.gso_size = outer.gso_size;
      h.hdr_len = static_cast<std::uint16_t>(outer.hdr_len > stripped ? outer.hdr_len - stripped : 0);
    }
    return h;
  }

  // The segments of TAP frame i, which the TAP left for us to cut (TSO).
  void encapsulate_gso(std::size_t i, const virtio_net_hdr& h, std::uint32_t tenant) {
    flush();  // the segment buffers are free again
    tso_.reset_all(headroom);
    std::size_t k = 0;
    const auto next = [&]() -> std::span<std::byte> {
      if (k == tso_.count()) {  // a burst's worth: send it, reuse the buffers
        encapsulate(tso_, 0, k, tenant);
        flush();
        tso_.reset_all(headroom);
        k = 0;
      }
      return tso_.storage(k).subspan(headroom);
    };
    const auto emit = [&](std::size_t len) { tso_[k++].reset(headroom, len); };
    const std::size_t cut = cut_tcp(tap_rx_[i].bytes(), h, next, emit);
    if (cut == 0) {
      ++c_.offload_refused;
      return;
    }
    c_.tso_segments += cut;
    encapsulate(tso_, 0, k, tenant);
  }

  void encapsulate(slots& from, std::size_t begin, std::size_t end, std::uint32_t tenant) {
    const std::size_t n = end - begin;
    std::array<np::verdict, burst_size> v{};
    enc_->encapsulate(from.ptrs(end).subspan(begin), tenant, {v.data(), n});
    for (std::size_t i = 0; i < n; ++i) {
      np::buffer& b = from[begin + i];
      switch (v[i].act) {
        case np::action::forward: send(b.bytes()); break;
        case np::action::flood: flood(b, tenant); break;
        case np::action::segment: segment(b, tenant); break;
        case np::action::reply: to_tap(b.bytes()); break;
        case np::action::too_big: too_big(b.bytes(), v[i].mtu); break;  // refused: b is the frame as read
        case np::action::held:
        case np::action::drop: break;  // counted by the pipeline
      }
    }
  }

  void flood(const np::buffer& inner, std::uint32_t tenant) {
    flush();  // the copies' buffers are free again
    copies_.reset_all(headroom);
    std::vector<np::verdict>& v = copy_verdicts_;
    v.assign(copies_.count(), np::verdict{});
    const std::size_t made = enc_->flood(inner, tenant, copies_.ptrs(copies_.count()), v);
    for (std::size_t j = 0; j < made; ++j)
      if (v[j].ok()) send(copies_[j].bytes());
    flush();
  }

  void segment(np::buffer& inner, std::uint32_t tenant) {
    flush();
    segments_.reset_all(0);
    const np::verdict sv = enc_->segment(inner, tenant, segments_.ptrs(segments_.count()));
    if (!sv.ok()) return;  // counted by the pipeline
    for (std::size_t j = 0; j < sv.segments; ++j) send(segments_[j].bytes());
    c_.segments += sv.segments;
    flush();
  }

  void too_big(std::span<const std::byte> frame, std::uint16_t mtu) {
    std::array<std::byte, 1600> icmp{};
    if (const auto len = np::build_too_big(frame, mtu, icmp)) {
      to_tap({icmp.data(), *len});
      ++c_.too_big_messages;
    }
  }

  void to_tap(std::span<const std::byte> f, virtio_net_hdr h = {}) {
    std::array<iovec, 2> iov{{{&h, vnet_size}, {const_cast<std::byte*>(f.data()), f.size()}}};
    if (::writev(tap_, iov.data(), iov.size()) != static_cast<ssize_t>(vnet_size + f.size())) ++c_.tap_errors;
  }

  // Queued for one sendmmsg; the bytes must stay put until flush().
  void send(std::span<std::byte> f) {
    if (tx_.size() == burst_size) flush();
    tx_.push_back({{{&no_offloads_, vnet_size}, {f.data(), f.size()}}});
  }

  void flush() {
    std::array<mmsghdr, burst_size> msgs{};
    for (std::size_t i = 0; i < tx_.size(); ++i) {
      msgs[i].msg_hdr.msg_iov = tx_[i].data();
      msgs[i].msg_hdr.msg_iovlen = tx_[i].size();
    }
    for (std::size_t sent = 0; sent < tx_.size();) {
      const int k = ::sendmmsg(underlay_, msgs.data() + sent, static_cast<unsigned>(tx_.size() - sent), 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {  // skip the frame the kernel refused, keep the rest
        ++c_.tx_errors;
        ++sent;
        continue;
      }
      sent += static_cast<std::size_t>(k);
    }
    tx_.clear();
  }

  nvo_examples::vtep_state& state_;
  int tap_;
  int underlay_;
  std::optional<std::uint32_t> vni_;
  std::unique_ptr<nvo_examples::encapsulator> enc_;
  std::unique_ptr<nvo_examples::decapsulator> dec_;
  slots tap_rx_, net_rx_, copies_, tso_, segments_;
  std::vector<np::verdict> copy_verdicts_;
  std::vector<std::array<iovec, 2>> tx_;
  virtio_net_hdr no_offloads_{};
  std::array<virtio_net_hdr, burst_size> net_vnet_{};
  std::array<std::size_t, burst_size> slot_of_{};  // burst index -> receive slot
  tcp_coalescer gro_;
  counters c_;
  std::uint32_t now_ = 0;
  std::uint32_t last_age_ = 0;
};

int run(const options& o) {
  nvo_examples::vtep_state state(nvo_examples::load_tunnel_config(o.config));
  if (o.vni && state.config.find_vni(*o.vni) == nullptr)
    throw config_error(fmt::format("--vni {}: {} configures no such VNI", *o.vni, o.config));
  const fd_guard underlay(open_underlay(o.underlay));
  // STT carries large frames itself (its segmentation), and nvo-vtep has no
  // GSO for the reassembled frames it writes: TSO only without STT.
  const auto encap = state.config.single_encapsulation();
  const fd_guard tap(open_tap(o.tap, encap && *encap != wire::encapsulation::stt));

  // Blocked except inside ppoll, so a signal cannot slip in between the
  // check of stop_requested and the wait.
  sigset_t block{}, wait_mask{};
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGTERM);
  struct sigaction sa{};
  sa.sa_handler = request_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  vtep v(state, tap.get(), underlay.get(), o.vni);
  fmt::print(stderr, "nvo-vtep: {} on {} <-> TAP {}\n", o.config, o.underlay, o.tap);
  stats_lines stats(o.stats_interval);
  const auto line = [&v] { return v.counters_line(); };
  std::array<pollfd, 2> fds{{{tap.get(), POLLIN, 0}, {underlay.get(), POLLIN, 0}}};
  while (stop_requested == 0) {
    const timespec timeout{1, 0};  // wakes for aging and stats when idle
    const int r = ::ppoll(fds.data(), fds.size(), &timeout, &wait_mask);
    if (r < 0 && errno != EINTR) fail_errno("poll");
    const std::uint32_t now = monotonic_seconds();
    v.tick(now);
    if (r > 0) {
      if ((fds[1].revents & POLLIN) != 0) v.underlay_readable();
      if ((fds[0].revents & POLLIN) != 0) v.tap_readable();
      if (((fds[0].revents | fds[1].revents) & (POLLERR | POLLHUP | POLLNVAL)) != 0)
        throw tool_error("a device went away (TAP deleted or underlay interface down?)");
    }
    stats.tick(now, line);
  }
  stats_lines::final(line);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{std::string(description), "nvo-vtep"};
  const command_line cl(app, "underlay interface (AF_PACKET socket)", "TAP device to create or attach (the inner side)");
  return run_main(app, cl, argc, argv, [](const options& o) { return run(o); });
}
