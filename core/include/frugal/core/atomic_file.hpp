// core's name for the shared atomic write (frugal/config/atomic_file.hpp).
#pragma once

#include "frugal/config/atomic_file.hpp"

namespace frugal::core {

using frugal::write_file_atomically;

}  // namespace frugal::core
