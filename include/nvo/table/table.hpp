// File: nvo/table/table.hpp
// Umbrella header for nvo's lock-free tables: the basic_table engine, the
// reclamation policies and the CA->PA forwarding tables.
#pragma once

#include "nvo/table/basic_table.hpp"
#include "nvo/table/forwarding.hpp"
#include "nvo/table/hash.hpp"
#include "nvo/table/policy.hpp"
#include "nvo/table/reclaim.hpp"
