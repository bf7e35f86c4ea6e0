// The pipeline instantiations behind make_encapsulator/make_decapsulator,
// included by one tunnel_<encap>.cpp per encapsulation policy.
#pragma once

#include <memory>

#include "nvo/pipeline/pipeline.hpp"
#include "tunnel.hpp"

namespace nvo_examples::detail {

template <class Encap, class Checksum, class Entropy>
class encapsulator_impl final : public encapsulator {
  using lookup = np::lookup::l2<fdb_t>;
  using pipeline = np::basic_pipeline<np::policy::encapsulation<Encap>, np::policy::lookup<lookup>,
                                      np::policy::checksum<Checksum>, np::policy::entropy<Entropy>>;

 public:
  explicit encapsulator_impl(vtep_state& s) : p_(s.options, lookup(s.fdb), s.templates) {}
  std::size_t encapsulate(std::span<np::buffer* const> burst, std::uint32_t tenant, std::span<np::verdict> out) override {
    return p_.encapsulate(burst, tenant, out);
  }
  std::size_t flood(const np::buffer& inner, std::uint32_t tenant, std::span<np::buffer* const> copies,
                    std::span<np::verdict> out) override {
    return p_.encapsulate_flood(inner, tenant, copies, out);
  }
  np::verdict segment(np::buffer& inner, std::uint32_t tenant, std::span<np::buffer* const> segments) override {
    return p_.encapsulate_segments(inner, tenant, segments);
  }
  [[nodiscard]] const np::pipeline_counters& counters() const override { return p_.counters(); }

 private:
  pipeline p_;
};

template <class Encap, bool Learning, bool AntiSpoofing>
class decapsulator_impl final : public decapsulator {
  using lookup = np::lookup::l2<fdb_t>;
  using pipeline = np::basic_pipeline<np::policy::encapsulation<Encap>, np::policy::lookup<lookup>,
                                      np::policy::learning<Learning>, np::policy::anti_spoofing<AntiSpoofing>>;

 public:
  explicit decapsulator_impl(vtep_state& s) : p_(s.options, lookup(s.fdb), s.templates) {}
  std::size_t decapsulate(std::span<np::buffer* const> burst, std::span<np::verdict> out) override {
    return p_.decapsulate(burst, out);
  }
  void set_time(std::uint32_t now_s) override { p_.set_time(now_s); }
  [[nodiscard]] const np::pipeline_counters& counters() const override { return p_.counters(); }

 private:
  pipeline p_;
};

template <class Encap, class Checksum>
std::unique_ptr<encapsulator> make_encapsulator_with(vtep_state& s) {
  switch (s.config.entropy) {
    case entropy_choice::crc32c: return std::make_unique<encapsulator_impl<Encap, Checksum, np::entropy::crc32c>>(s);
    case entropy_choice::toeplitz: return std::make_unique<encapsulator_impl<Encap, Checksum, np::entropy::toeplitz>>(s);
    case entropy_choice::fixed: return std::make_unique<encapsulator_impl<Encap, Checksum, np::entropy::fixed>>(s);
  }
  return nullptr;
}

template <class Encap>
std::unique_ptr<encapsulator> make_encapsulator_of(vtep_state& s) {
  switch (s.config.checksum) {
    case np::checksum_mode::zero_udp: return make_encapsulator_with<Encap, np::checksum::zero_udp>(s);
    case np::checksum_mode::software: return make_encapsulator_with<Encap, np::checksum::software>(s);
    case np::checksum_mode::offload: return make_encapsulator_with<Encap, np::checksum::offload>(s);
  }
  return nullptr;
}

template <class Encap>
std::unique_ptr<decapsulator> make_decapsulator_of(vtep_state& s) {
  const bool learn = s.config.learning;
  const bool guard = s.config.anti_spoofing;
  if (learn && guard) return std::make_unique<decapsulator_impl<Encap, true, true>>(s);
  if (learn) return std::make_unique<decapsulator_impl<Encap, true, false>>(s);
  if (guard) return std::make_unique<decapsulator_impl<Encap, false, true>>(s);
  return std::make_unique<decapsulator_impl<Encap, false, false>>(s);
}

}  // namespace nvo_examples::detail
