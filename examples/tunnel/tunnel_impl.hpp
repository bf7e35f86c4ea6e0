// The pipeline instantiations behind make_encapsulator/make_decapsulator,
// included by one translation unit per encapsulation policy and buffer type
// (tunnel_<encap>.cpp for np::buffer, tunnel_dpdk/tunnel_dpdk_<encap>.cpp for
// nvo::dpdk::mbuf_buffer), each of which says
// NVO_EXAMPLES_INSTANTIATE_TUNNEL(buffer, encap).
#pragma once

#include <memory>

#include "nvo/pipeline/pipeline.hpp"
#include "tunnel.hpp"

namespace nvo_examples::detail {

template <class Buffer, class Encap, class Checksum, class Entropy>
class encapsulator_impl final : public basic_encapsulator<Buffer> {
  using lookup = np::lookup::l2<fdb_t>;
  using pipeline = np::basic_pipeline<np::policy::encapsulation<Encap>, np::policy::lookup<lookup>,
                                      np::policy::checksum<Checksum>, np::policy::entropy<Entropy>>;

 public:
  explicit encapsulator_impl(vtep_state& s) : p_(s.options, lookup(s.fdb), s.templates) {}
  std::size_t encapsulate(std::span<Buffer* const> burst, std::uint32_t tenant, std::span<np::verdict> out) override {
    return p_.encapsulate(burst, tenant, out);
  }
  std::size_t flood(const Buffer& inner, std::uint32_t tenant, std::span<Buffer* const> copies,
                    std::span<np::verdict> out) override {
    return p_.encapsulate_flood(inner, tenant, copies, out);
  }
  np::verdict segment(Buffer& inner, std::uint32_t tenant, std::span<Buffer* const> segments) override {
    return p_.encapsulate_segments(inner, tenant, segments);
  }
  [[nodiscard]] const np::pipeline_counters& counters() const override { return p_.counters(); }

 private:
  pipeline p_;
};

template <class Buffer, class Encap, bool Learning, bool AntiSpoofing>
class decapsulator_impl final : public basic_decapsulator<Buffer> {
  using lookup = np::lookup::l2<fdb_t>;
  using pipeline = np::basic_pipeline<np::policy::encapsulation<Encap>, np::policy::lookup<lookup>,
                                      np::policy::learning<Learning>, np::policy::anti_spoofing<AntiSpoofing>>;

 public:
  explicit decapsulator_impl(vtep_state& s) : p_(s.options, lookup(s.fdb), s.templates) {}
  std::size_t decapsulate(std::span<Buffer* const> burst, std::span<np::verdict> out) override {
    return p_.decapsulate(burst, out);
  }
  void set_time(std::uint32_t now_s) override { p_.set_time(now_s); }
  [[nodiscard]] const np::pipeline_counters& counters() const override { return p_.counters(); }

 private:
  pipeline p_;
};

template <class Buffer, class Encap, class Checksum>
std::unique_ptr<basic_encapsulator<Buffer>> make_encapsulator_with(vtep_state& s) {
  switch (s.config.entropy) {
    case entropy_choice::crc32c:
      return std::make_unique<encapsulator_impl<Buffer, Encap, Checksum, np::entropy::crc32c>>(s);
    case entropy_choice::toeplitz:
      return std::make_unique<encapsulator_impl<Buffer, Encap, Checksum, np::entropy::toeplitz>>(s);
    case entropy_choice::fixed:
      return std::make_unique<encapsulator_impl<Buffer, Encap, Checksum, np::entropy::fixed>>(s);
  }
  return nullptr;
}

template <class Buffer, class Encap>
std::unique_ptr<basic_encapsulator<Buffer>> make_encapsulator_for(vtep_state& s) {
  switch (s.config.checksum) {
    case np::checksum_mode::zero_udp: return make_encapsulator_with<Buffer, Encap, np::checksum::zero_udp>(s);
    case np::checksum_mode::software: return make_encapsulator_with<Buffer, Encap, np::checksum::software>(s);
    case np::checksum_mode::offload: return make_encapsulator_with<Buffer, Encap, np::checksum::offload>(s);
  }
  return nullptr;
}

template <class Buffer, class Encap>
std::unique_ptr<basic_decapsulator<Buffer>> make_decapsulator_for(vtep_state& s) {
  const bool learn = s.config.learning;
  const bool guard = s.config.anti_spoofing;
  if (learn && guard) return std::make_unique<decapsulator_impl<Buffer, Encap, true, true>>(s);
  if (learn) return std::make_unique<decapsulator_impl<Buffer, Encap, true, false>>(s);
  if (guard) return std::make_unique<decapsulator_impl<Buffer, Encap, false, true>>(s);
  return std::make_unique<decapsulator_impl<Buffer, Encap, false, false>>(s);
}

}  // namespace nvo_examples::detail

// The explicit instantiations make_encapsulator<Buffer>/make_decapsulator<Buffer>
// (tunnel.hpp) link against; at namespace scope.
#define NVO_EXAMPLES_INSTANTIATE_TUNNEL(Buffer, Encap)                                                             \
  template std::unique_ptr<nvo_examples::basic_encapsulator<Buffer>>                                               \
  nvo_examples::detail::make_encapsulator_for<Buffer, Encap>(nvo_examples::vtep_state&);                           \
  template std::unique_ptr<nvo_examples::basic_decapsulator<Buffer>>                                               \
  nvo_examples::detail::make_decapsulator_for<Buffer, Encap>(nvo_examples::vtep_state&)
