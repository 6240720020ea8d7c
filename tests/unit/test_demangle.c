/* Unit tests of names as shown: symbol versions dropped, C++ demangled as before, Rust legacy
 * names without their hash and v0 names demangled. The mangled names are real: taken with nm
 * from rustc 1.95 builds (-O, legacy and -C symbol-mangling-version=v0) of a program like
 * tests/integration/test_go.py's Rust fixture. Then every Rust name of such a build, made
 * now with the rustc on PATH (Debian's 1.63 reads the same), must read as binutils'
 * independent demangler (c++filt -s rust) reads it once crate and legacy hashes are dropped.
 * Malformed and hostile names stay bounded. */
#include <errno.h>
#include <unistd.h>

#include "object/elf_symbols.h"
#include "symbolize/rust_demangle.h"
#include "test.h"

static void check_demangle(const char *in, const char *want)
{
	char *got = demangle(in);

	if (!want) {
		if (got)
			fprintf(stderr, "  %s: shown as %s, want as is\n", in, got);
		CHECK(got == NULL);
	} else {
		if (!got || strcmp(got, want))
			fprintf(stderr, "  %s\n", in);
		CHECK_STR(got, want);
	}
	free(got);
}

static void test_symbol_versions(void)
{
	check_demangle("__libc_start_main@@GLIBC_2.34", "__libc_start_main");
	check_demangle("__libc_start_main@GLIBC_2.2.5", "__libc_start_main");
	check_demangle("memcpy@@GLIBC_2.14", "memcpy");
	check_demangle("_ZNSo3putEc@@GLIBCXX_3.4", "std::ostream::put(char)");
	check_demangle("main", NULL);
	check_demangle("@weird", NULL);
}

static void test_cxx_unchanged(void)
{
	check_demangle("_ZN3foo3barEv", "foo::bar()");
	/* a C++ nested name is not Rust's: no hash element */
	check_demangle("_ZN3foo3barE", "foo::bar");
	check_demangle("_ZN3foo17h0123456789abcdefEv", "foo::h0123456789abcdef()");
	check_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi",
		       "std::vector<int, std::allocator<int> >::push_back(int const&)");
	check_demangle("_Znot a name", NULL);
}

static void test_rust_legacy(void)
{
	check_demangle("_ZN9rs_shares5hot_a17hd814bef468df4236E", "rs_shares::hot_a");
	check_demangle("_ZN9rs_shares13Wrap$LT$T$GT$4show17h5758d4958098fee3E",
		       "rs_shares::Wrap<T>::show");
	check_demangle("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17hb6e1243eb3d29a0bE",
		       "std::rt::lang_start::{{closure}}");
	check_demangle("_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_rehash17h374cabecf08007d"
		       "eE.llvm.13607549891898828280",
		       "hashbrown::raw::RawTable<T,A>::reserve_rehash");
	check_demangle(
	    "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$"
	    "closure$u7d$$u7d$$GT$17h2a4ba2cfbfb3bb2fE",
	    "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>");
	check_demangle("_ZN9rs_shares5hot_a17hd814bef468df4236E@@V1", "rs_shares::hot_a");
}

static void test_rust_v0(void)
{
	check_demangle("_RNvCsg4OCIM9TPcK_9rs_shares5hot_a", "rs_shares::hot_a");
	check_demangle("_RNvMCsg4OCIM9TPcK_9rs_sharesINtB2_4WrapjE4showB2_",
		       "<rs_shares::Wrap<usize>>::show");
	check_demangle("_RNvMCsg4OCIM9TPcK_9rs_sharesINtB2_4WrapReE4showB2_",
		       "<rs_shares::Wrap<&str>>::show");
	check_demangle(
	    "_RINvNtCsgEmfK2I1SDS_4core6escape14escape_unicodeKja_ECsgY6Mt91CT9J_14rustc_"
	    "demangle",
	    "core::escape::escape_unicode::<10>");
	check_demangle(
	    "_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_placeINtNtCslNYArtu3iFV_5alloc5boxed3BoxDG0_"
	    "INtNtNtB4_3ops8function2FnTRL1_INtNtCsjrHSEGnQ3l9_3std5panic13PanicHookInfoL0_EEEp6Ou"
	    "tputuNtNtB4_6marker4SyncNtB2N_4SendEL_EEB1T_",
	    "core::ptr::drop_in_place::<alloc::boxed::Box<dyn for<'a, 'b> "
	    "core::ops::function::Fn<(&'a std::panic::PanicHookInfo<'b>,), Output = ()> + "
	    "core::marker::Sync + core::marker::Send>>");
	check_demangle(
	    "_RINvMs6_NtCsgvbsrvnw3yD_9hashbrown3rawINtB6_8RawTableTmINtNtCslNYArtu3iFV_5a"
	    "lloc3vec3VechEEE14reserve_rehashNCINvNtB8_3map11make_hashermBR_NtNtNtCsjrHSEG"
	    "nQ3l9_3std4hash6random11RandomStateE0ECsg4OCIM9TPcK_9rs_shares.llvm.97385723"
	    "59846637512",
	    "<hashbrown::raw::RawTable<(u32, alloc::vec::Vec<u8>)>>::reserve_rehash::<"
	    "hashbrown::map::make_hasher<u32, alloc::vec::Vec<u8>, "
	    "std::hash::random::RandomState>::{closure#0}>");
	check_demangle("_RNvCsfLfy6EI15iL_7___rustc35___rust_no_alloc_shim_is_unstable_v2",
		       "__rustc::__rust_no_alloc_shim_is_unstable_v2");
	check_demangle("_RNvCsg4OCIM9TPcK_9rs_shares5hot_a@@V2", "rs_shares::hot_a");
}

static void encode_base62(size_t v, char *out)
{
	static const char digits[] =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char tmp[16];
	int k = 0;

	do {
		tmp[k++] = digits[v % 62];
		v /= 62;
	} while (v);
	while (k)
		*out++ = tmp[--k];
	*out = '\0';
}

static void test_malformed(void)
{
	char out[256], big[8192];
	size_t n = 0;

	/* not demangled, shown as is */
	check_demangle("_RNvC", NULL);
	check_demangle("_RNvCs_3foo", NULL);
	check_demangle("_R", NULL);
	check_demangle("_RB_", NULL);	       /* a back-reference to itself */
	check_demangle("_RNvB5_3foo", NULL);   /* forwards */
	check_demangle("_RNvC3foo9bar", NULL); /* runs past the end */
	check_demangle("_RNvC3foo3barX", NULL);
	check_demangle("_R0NvC3foo3bar", NULL); /* an encoding version not known */
	check_demangle("_ZN3foo17h0123456789abcdeE", NULL);
	CHECK_INT(rust_demangle("_ZN3foo3bar17h0123456789abcdefE", out, sizeof(out)), 0);
	CHECK_STR(out, "foo::bar");
	CHECK_INT(rust_demangle("_ZN3foo3bar17h0123456789abcdefE", out, 5), -E2BIG);
	CHECK_STR(out, "");
	CHECK_INT(rust_demangle("_RNvC3foo3bar", out, 7), -E2BIG);
	CHECK_INT(rust_demangle("main", out, sizeof(out)), -EINVAL);
	/* nesting past the depth bound */
	n = (size_t)snprintf(big, sizeof(big), "_RINvC1a1f");
	for (int i = 0; i < 200; i++)
		big[n++] = 'S';
	big[n++] = 'u';
	for (int i = 0; i < 200; i++)
		big[n++] = 'E';
	big[n] = '\0';
	CHECK_INT(rust_demangle(big, out, sizeof(out)), -E2BIG);
	/* back-references doubling the output: a generic argument list whose every tuple holds
	 * the previous one twice; stops at the bounds, quickly */
	n = (size_t)snprintf(big, sizeof(big), "_RINvC1a1fTuuE");
	for (size_t prev = 8, i = 0; i < 40; i++) {
		size_t at = n - 2; /* offsets count from after "_R" */
		char b62[16];

		encode_base62(prev - 1, b62);
		n += (size_t)snprintf(big + n, sizeof(big) - n, "TB%s_B%s_E", b62, b62);
		prev = at;
	}
	big[n++] = 'E';
	big[n] = '\0';
	CHECK_INT(rust_demangle(big, out, sizeof(out)), -E2BIG);
	CHECK_INT(rust_demangle(big, big + 4096, 4096), -E2BIG);
}

/* Every Rust name of a fresh rustc build against c++filt's reading of it. */
static void compare_build(const char *dir, const char *flags, const char *hot_a)
{
	char cmd[2048], ours[8192], line[8192];
	int total = 0, same = 0, shown = 0, hot = 0;
	FILE *names, *ref;

	snprintf(cmd, sizeof(cmd),
		 "cd %s && rustc -O %s -o prog prog.rs 2>&1 && nm prog | awk '{print $NF}' | "
		 "grep -E '^(_R|_ZN)' | sort -u > names.txt && c++filt -s rust < names.txt | "
		 "sed -E 's/\\[[0-9a-f]{1,16}\\]//g; s/::h[0-9a-f]{16}$//; "
		 "s/<([0-9]+): (usize|u8|u16|u32|u64|isize|i32|bool)>/<\\1>/g' > ref.txt",
		 dir, flags);
	CHECK_INT(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/names.txt", dir);
	names = fopen(cmd, "r");
	snprintf(cmd, sizeof(cmd), "%s/ref.txt", dir);
	ref = fopen(cmd, "r");
	CHECK(names && ref);
	while (names && ref && fgets(line, sizeof(line), names)) {
		char want[8192];

		line[strcspn(line, "\n")] = '\0';
		if (!fgets(want, sizeof(want), ref))
			break;
		want[strcspn(want, "\n")] = '\0';
		total++;
		hot += !strncmp(line, hot_a, strlen(hot_a)) && strstr(line, "4prog5hot_a");
		if (rust_demangle(line, ours, sizeof(ours)) == 0 && !strcmp(ours, want)) {
			same++;
		} else if (shown++ < 5) {
			fprintf(stderr, "  %s:\n    ours %s\n    want %s\n", line, ours, want);
		}
	}
	if (names)
		fclose(names);
	if (ref)
		fclose(ref);
	fprintf(stderr, "  %s: %d of %d names read as c++filt reads them\n", flags, same, total);
	CHECK(total >= 100);
	CHECK_INT(hot, 1); /* the program's own names are in the scheme asked for */
	CHECK_INT(same, total);
}

static void test_against_cxxfilt(void)
{
	static const char prog[] =
	    "use std::collections::HashMap;\n"
	    "struct Wrap<T>(T);\n"
	    "impl<T: std::fmt::Debug> Wrap<T> {\n"
	    "    #[inline(never)] fn show(&self) -> String { format!(\"{:?}\", self.0) }\n"
	    "}\n"
	    "#[inline(never)] pub fn hot_a(n: u64) -> u64 { (0..n).map(|x| x * x).sum() }\n"
	    "fn main() {\n"
	    "    let mut m: HashMap<u32, Vec<u8>> = HashMap::new();\n"
	    "    m.insert(1, vec![1]);\n"
	    "    let f: Box<dyn Fn(&str) -> usize> = Box::new(|s| s.len());\n"
	    "    println!(\"{} {} {} {}\", hot_a(std::env::args().count() as u64), "
	    "Wrap(m.len()).show(), Wrap(\"x\").show(), "
	    "f(\"ab\"));\n"
	    "}\n";
	char dir[] = "/tmp/stoker-rust-XXXXXX", path[64], cmd[128];
	FILE *f;

	CHECK_PROGRAM("rustc");
	CHECK_PROGRAM("c++filt");
	CHECK_PROGRAM("nm");
	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	snprintf(path, sizeof(path), "%s/prog.rs", dir);
	f = fopen(path, "w");
	CHECK(f && fputs(prog, f) >= 0);
	if (f)
		fclose(f);
	compare_build(dir, "-C symbol-mangling-version=v0", "_RNvCs");
	compare_build(dir, "", "_ZN4prog5hot_a17h"); /* legacy: rustc's default */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	RUN_TEST(test_symbol_versions);
	RUN_TEST(test_cxx_unchanged);
	RUN_TEST(test_rust_legacy);
	RUN_TEST(test_rust_v0);
	RUN_TEST(test_malformed);
	RUN_TEST(test_against_cxxfilt);
	return TEST_SUMMARY();
}
