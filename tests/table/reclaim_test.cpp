// reclaim::qsbr: reader registration limits, reclamation by poll() from a
// datapath thread without a later retire(), and one domain shared by tables
// whose writers are different threads (built plain, ASan+UBSan and TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "nvo/table/table.hpp"

namespace {

namespace tbl = nvo::table;

TEST(Qsbr, ReaderPastMaxReadersIsRefusedNotFatal) {
  tbl::reclaim::basic_qsbr<4> domain;
  std::vector<tbl::reclaim::basic_qsbr<4>::reader> readers;
  for (int i = 0; i < 4; ++i) {
    auto r = domain.try_register_reader();
    ASSERT_TRUE(r.has_value());
    readers.push_back(std::move(*r));
  }
  EXPECT_FALSE(domain.try_register_reader().has_value());
  readers.pop_back();  // frees its slot
  EXPECT_TRUE(domain.try_register_reader().has_value());
  tbl::reclaim::qsbr big;
  std::vector<tbl::reclaim::qsbr::reader> many;
  for (std::size_t i = 0; i < tbl::reclaim::qsbr::max_readers; ++i) many.push_back(std::move(*big.try_register_reader()));
  EXPECT_FALSE(big.try_register_reader().has_value()) << "the 65th reader";
}

int freed = 0;
void count_free(void* p) {
  ++freed;
  delete static_cast<int*>(p);
}

TEST(Qsbr, PollFromTheReaderReclaimsWithoutALaterRetire) {
  tbl::reclaim::qsbr domain;
  auto r = domain.try_register_reader();
  ASSERT_TRUE(r.has_value());
  freed = 0;
  domain.retire(new int(1), count_free);
  EXPECT_EQ(domain.pending(), 1u) << "an online reader that has not passed a quiescent state pins it";
  domain.poll();
  EXPECT_EQ(freed, 0);
  r->quiescent();
  domain.poll();  // the datapath loop's own call: no writer activity needed
  EXPECT_EQ(freed, 1);
  EXPECT_EQ(domain.pending(), 0u);
  r->offline();
  domain.retire(new int(2), count_free);  // an offline reader pins nothing
  EXPECT_EQ(freed, 2);
}

// Two tables, two writer threads, one domain, readers of both: every
// growth retires an array through the shared domain while the other writer
// does the same and the readers poll.
TEST(Qsbr, DomainSharedByTablesWithDifferentWriters) {
  using table_t = tbl::basic_table<std::uint64_t, std::uint64_t, tbl::policy::reclaimer<tbl::reclaim::qsbr>>;
  tbl::reclaim::qsbr domain;
  table_t a({.capacity = 16}, domain);
  table_t b({.capacity = 16}, domain);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> wrong{0};
  auto reader = [&] {
    auto r = domain.try_register_reader();
    ASSERT_TRUE(r.has_value());
    for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      const std::uint64_t k = i % 20000;
      if (auto v = a.find(k); v && *v != k) wrong.fetch_add(1);
      if (auto v = b.find(k); v && *v != k + 1) wrong.fetch_add(1);
      r->quiescent();
      if (i % 64 == 0) domain.poll();
    }
  };
  auto writer = [&](table_t& t, std::uint64_t add) {
    for (std::uint64_t round = 0; round < 3; ++round) {
      for (std::uint64_t k = 0; k < 20000; ++k) ASSERT_TRUE(t.insert_or_assign(k, k + add).ok());
      EXPECT_EQ(t.erase_if([](std::uint64_t, std::uint64_t) { return true; }), 20000u);
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  std::thread wa(writer, std::ref(a), 0);
  std::thread wb(writer, std::ref(b), 1);
  wa.join();
  wb.join();
  stop.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GE(a.growths(), 5u);
  EXPECT_GE(b.growths(), 5u);
  domain.synchronize();
  EXPECT_EQ(domain.pending(), 0u);
}

}  // namespace
