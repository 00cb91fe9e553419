/* SPDX-License-Identifier: GPL-2.0 */
/* Host stand-ins for the kernel macros the cut-out parser code uses. */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define __init
#define __initdata
#define noinline
#define fallthrough __attribute__((__fallthrough__))
#define likely(x) (x)
#define unlikely(x) (x)
#define EXPORT_SYMBOL(x)
#define BUG_ON(x) assert(!(x))
#define pr_warn(...) ((void)0)
#define pr_info(...) ((void)0)
#define EINVAL 22
#define ENOENT 2
#define SZ_128M (128ULL << 20)
#define roundup(x, y) ((((x) + ((y) - 1)) / (y)) * (y))
#define KSTRTOX_OVERFLOW (1U << 31)
#define _tolower(c) ((c) | 0x20)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_shl_overflow(a, s, d) ({ unsigned long long _a = (a); unsigned int _s = (s); \
	*(d) = _s >= 64 ? 0 : _a << _s; _s >= 64 ? _a != 0 : ((*(d) >> _s) != _a); })
#define CONFIG_ARCH_HAS_GENERIC_CRASHKERNEL_RESERVATION 1
#define __always_unused __attribute__((unused))

static unsigned long long oracle_default_low;
#define DEFAULT_CRASH_KERNEL_LOW_SIZE oracle_default_low

#define _parse_integer(s, base, res, max) _parse_integer_limit(s, base, res, max, 0)
unsigned int _parse_integer_limit(const char *s, unsigned int base, unsigned long long *p,
				  size_t max_chars, unsigned long long init);
unsigned long long simple_strtoull(const char *cp, char **endp, unsigned int base);
