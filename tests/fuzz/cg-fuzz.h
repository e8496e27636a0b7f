/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every fuzz target defines the libFuzzer entry point.  Built with clang
 * -fsanitize=fuzzer it is driven by libFuzzer (`make fuzz`); built with the
 * ordinary toolchain, tests/fuzz/cg-fuzz-replay.c gives it a main() that
 * replays the seed corpus and every crash ever found (`make check`). */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
