/* SPDX-License-Identifier: MIT */
/* The whole of util/ in one include: base (log, alloc, vectors), prefixes, clocks, files, text. */
#ifndef ZS_UTIL_H
#define ZS_UTIL_H

#include "util/base.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/prefix.h"
#include "util/text.h"

#endif /* ZS_UTIL_H */
