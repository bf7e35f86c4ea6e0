// File: nvo/table/policy.hpp
// Policy tags and the concepts that check them for nvo's lock-free tables.
//
// A table is configured by an order-independent pack of named policies
// (xenium style), each validated by a concept so a wrong policy fails with a
// readable message at the point of use:
//
//   using fdb = nvo::table::basic_table<key, value,
//                                       nvo::table::policy::reclaimer<nvo::table::reclaim::qsbr>,
//                                       nvo::table::policy::hash<my_hash>>;
//
// Policies and their defaults:
//   policy::hash<H>              H(key) -> std::uint64_t        default: keyed_hash
//   policy::reclaimer<R>         retire(p, deleter) as below    default: reclaim::none
//   policy::slots_per_bucket<N>  slots in one bucket (>= 2)     default: fill whole cache lines
//   policy::writer_stamp<On>     a 32-bit writer-only word per  default: off
//                                entry, outside what readers copy
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "nvo/config.hpp"

NVO_BEGIN_NAMESPACE
namespace table {

// A hash policy maps a key to 64 bits; the table derives both bucket choices
// from it (low and high 32 bits), so the halves must be independent. A policy
// constructible from a hash_seed (hash.hpp) is keyed: table_options::seed
// fixes its secret, else it draws its own.
template <class H, class Key>
concept hash_policy = std::default_initializable<H> && std::copy_constructible<H> && requires(const H& h, const Key& k) {
  { h(k) } noexcept -> std::same_as<std::uint64_t>;
};

// A reclaimer frees memory that readers may still be reading once no reader
// can hold it any more (a grace period).
//   retire(p, deleter): REQUIRES the writer unpublished p before the call.
//                       POSTCONDITION: deleter(p) runs once, after every reader
//                       that could have loaded p has passed a quiescent state
//                       (or at the reclaimer's destruction).
// The read side belongs to the reclaimer (QSBR quiescent calls, an RCU read
// lock, ...): table lookups add nothing, so a plugged-in RCU costs readers no
// more than it already does.
template <class R>
concept reclaimer = requires(R& r, void* p, void (*deleter)(void*)) {
  { r.retire(p, deleter) } -> std::same_as<void>;
};

// Keys are compared as bytes, so a key type must have no padding bits whose
// value could differ between two equal keys.
template <class K>
concept table_key = std::is_trivially_copyable_v<K> && std::has_unique_object_representations_v<K> &&
                    std::default_initializable<K> && (sizeof(K) <= 64);

// Values are copied as whole words, so a value type must have no padding
// bytes (they would be read as indeterminate values).
template <class V>
concept table_value = std::is_trivially_copyable_v<V> && std::has_unique_object_representations_v<V> &&
                      std::default_initializable<V> && (sizeof(V) <= 64);

namespace policy {

template <class H>
struct hash {
  using type = H;
};
template <class R>
struct reclaimer {
  using type = R;
};
template <std::size_t N>
struct slots_per_bucket {
  static constexpr std::size_t value = N;
};
// writer_stamp<true>: every entry carries a 32-bit word that only the writer
// reads and writes (learning timestamps), kept beside the buckets so that
// rewriting it never touches a line readers copy.
template <bool On>
struct writer_stamp {
  static constexpr bool value = On;
};

}  // namespace policy

namespace detail {

template <template <class> class Tag, class Default, class... Policies>
struct type_param {
  using type = Default;
};
template <template <class> class Tag, class Default, class T, class... Rest>
struct type_param<Tag, Default, Tag<T>, Rest...> {
  using type = T;
};
template <template <class> class Tag, class Default, class Other, class... Rest>
struct type_param<Tag, Default, Other, Rest...> : type_param<Tag, Default, Rest...> {};

// type_param_t<policy::hash, crc32c_hash, Policies...>: the H of the first
// policy::hash<H> in the pack, else the default.
template <template <class> class Tag, class Default, class... Policies>
using type_param_t = typename type_param<Tag, Default, Policies...>::type;

// slots_param<Default, Policies...>: N of the first policy::slots_per_bucket<N>.
template <std::size_t Default, class... Policies>
struct slots_param : std::integral_constant<std::size_t, Default> {};
template <std::size_t Default, std::size_t N, class... Rest>
struct slots_param<Default, policy::slots_per_bucket<N>, Rest...> : std::integral_constant<std::size_t, N> {};
template <std::size_t Default, class Other, class... Rest>
struct slots_param<Default, Other, Rest...> : slots_param<Default, Rest...> {};

// bool_param<Tag, Default, Policies...>: On of the first Tag<On> in the pack.
template <template <bool> class Tag, bool Default, class... Policies>
struct bool_param : std::bool_constant<Default> {};
template <template <bool> class Tag, bool Default, bool On, class... Rest>
struct bool_param<Tag, Default, Tag<On>, Rest...> : std::bool_constant<On> {};
template <template <bool> class Tag, bool Default, class Other, class... Rest>
struct bool_param<Tag, Default, Other, Rest...> : bool_param<Tag, Default, Rest...> {};

template <class P>
struct is_known_policy : std::false_type {};
template <class H>
struct is_known_policy<policy::hash<H>> : std::true_type {};
template <class R>
struct is_known_policy<policy::reclaimer<R>> : std::true_type {};
template <std::size_t N>
struct is_known_policy<policy::slots_per_bucket<N>> : std::true_type {};
template <bool On>
struct is_known_policy<policy::writer_stamp<On>> : std::true_type {};

}  // namespace detail
}  // namespace table
NVO_END_NAMESPACE
