/**
 * @file test_model_ar.c
 * Specification of gg infer's ar and ranlib models (tools/infer/model_ar.c)
 * on the archive commands build systems write (CMake's "ar qc" then ranlib,
 * libtool's and automake's "ar cru", "ar rcs"), with members that are
 * placeholders of the gcc model: the key as given ('-' or not, D
 * deterministic, u, --plugin before it), the archive and members at their
 * mapped places; an archive there already updated from a copy of its bytes;
 * and what runs the real ar, logged with its reason: thin archives (T, an
 * existing !<thin>), U, S (no symbol index: a later ranlib must then write
 * one), t/x/d, no placeholder member, a configure probe, no archive, an
 * existing file that is no archive. ranlib of placeholders does nothing; of
 * a real archive it runs.
 */
#include "infer_fixture.h"

static bool arg_pair(const struct thunk *t, const char *a, const char *b)
{
	for (size_t i = 0; i + 1 < t->argv.n; i++)
		if (!strcmp(t->argv.v[i], a) && !strcmp(t->argv.v[i + 1], b))
			return true;
	return false;
}

static void members(void)
{
	fx_write("a.c", "int a(void) { return 1; }\n");
	fx_write("b.c", "int b(void) { return 2; }\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "a.c", "b.c", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_is_placeholder("a.o") && fx_is_placeholder("b.o"));
	/* a real object beside them */
	CHECK(system("gcc -c b.c -o real.o") == 0);
}

/* The archive's thunk runs ar with the key and names as given, one output. */
static void check_archive(const char *key, const char *archive)
{
	struct thunk t;
	char *out = NULL;
	CHECK(fx_is_placeholder(archive));
	CHECK(fx_thunk_of(archive, &t, &out) == 0);
	CHECK_STR(out, archive);
	CHECK(t.outputs.n == 1);
	CHECK(arg_pair(&t, key, archive));
	CHECK(fx_has_arg(&t, "a.o"));
	CHECK(thunk_find_input(&t, "a.o") != NULL);
	CHECK(fx_arg_after(&t, "-c") == NULL); /* not the update's sh */
	thunk_free(&t);
	free(out);
}

static void test_archives_of_placeholders(void)
{
	members();
	CHECK(fx_run(model_ar, "ar", "qc", "libq.a", "a.o", "b.o", NULL) == 0); /* CMake */
	CHECK_MODELLED();
	check_archive("qc", "libq.a");
	CHECK(fx_run(model_ar, "ar", "cru", "libu.a", "a.o", "real.o", NULL) == 0); /* automake */
	CHECK_MODELLED();
	check_archive("cru", "libu.a");
	struct thunk t;
	CHECK(fx_thunk_of("libu.a", &t, NULL) == 0);
	CHECK(thunk_find_input(&t, "real.o") != NULL);
	thunk_free(&t);
	CHECK(fx_run(model_ar, "ar", "-rcs", "librcs.a", "a.o", NULL) == 0);
	CHECK_MODELLED();
	check_archive("-rcs", "librcs.a");
	CHECK(fx_run(model_ar, "ar", "rcD", "libd.a", "a.o", NULL) == 0);
	CHECK_MODELLED();
	check_archive("rcD", "libd.a");
	/* options before the key, with their values */
	CHECK(fx_run(model_ar, "ar", "--target", "elf64-x86-64", "cr", "libtg.a", "a.o", NULL) ==
	      0);
	CHECK_MODELLED();
	check_archive("cr", "libtg.a");
	CHECK(fx_thunk_of("libtg.a", &t, NULL) == 0);
	CHECK(arg_pair(&t, "--target", "elf64-x86-64"));
	thunk_free(&t);
	/* in a directory, named from elsewhere */
	CHECK(mkdir("lib", 0755) == 0);
	CHECK(fx_run(model_ar, "ar", "qc", "lib/libsub.a", "./a.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("lib/libsub.a", &t, NULL) == 0);
	CHECK(arg_pair(&t, "qc", "lib/libsub.a"));
	CHECK(thunk_find_input(&t, "a.o") != NULL);
	thunk_free(&t);
	fx_free_texts();
}

/* An archive there already: its bytes are copied to the output before ar runs there. */
static void test_update_of_an_existing_archive(void)
{
	CHECK(fx_run(model_ar, "ar", "rcs", "librcs.a", "b.o", NULL) == 0);
	CHECK_MODELLED();
	struct thunk t;
	CHECK(fx_thunk_of("librcs.a", &t, NULL) == 0);
	CHECK(fx_has_arg(&t, "cp -- \"$1\" \"$2\" && shift 2 && exec \"$@\""));
	CHECK(arg_pair(&t, MODEL_TMP "/old/librcs.a", "librcs.a"));
	CHECK(thunk_find_input(&t, MODEL_TMP "/old/librcs.a") != NULL);
	CHECK(arg_pair(&t, "rcs", "librcs.a"));
	CHECK(fx_has_arg(&t, "b.o"));
	CHECK(t.outputs.n == 1 && !strcmp(t.outputs.v[0], "librcs.a"));
	thunk_free(&t);
	/* a real archive too */
	CHECK(system("ar rcs libreal.a real.o 2>/dev/null") == 0);
	CHECK(fx_run(model_ar, "ar", "rcs", "libreal.a", "a.o", NULL) == 0);
	CHECK_MODELLED();
	CHECK(fx_thunk_of("libreal.a", &t, NULL) == 0);
	CHECK(thunk_find_input(&t, MODEL_TMP "/old/libreal.a") != NULL);
	thunk_free(&t);
	fx_free_texts();
}

/* What runs the real ar (a fake one here: no placeholder is read by these). */
static void test_refusals_run_the_real_ar(void)
{
	fx_fake_tool("ar", "/usr/bin/ar");
	CHECK(fx_run(model_ar, "ar", "rcsT", "libt.a", "real.o", NULL) == 0);
	CHECK_FELL_BACK("modifiers of 'ar rcsT' are not modelled");
	CHECK(strstr(fx_ran_text, "ar rcsT libt.a real.o") != NULL);
	CHECK(fx_run(model_ar, "ar", "qcU", "libU.a", "real.o", NULL) == 0);
	CHECK_FELL_BACK("modifiers of 'ar qcU' are not modelled");
	/* no symbol index: ranlib's model would then leave the archive without one */
	CHECK(fx_run(model_ar, "ar", "qcS", "libS.a", "real.o", NULL) == 0);
	CHECK_FELL_BACK("modifiers of 'ar qcS' are not modelled");
	CHECK(fx_run(model_ar, "ar", "t", "libq.a", NULL) == 0);
	CHECK_FELL_BACK("ar t reads or changes an archive now");
	/* the archive was forced for the real ar: byte for byte a plain build's */
	CHECK(!fx_is_placeholder("libq.a"));
	CHECK(system("mkdir plain && cd plain && gcc -c ../a.c ../b.c && ar qc libq.a a.o b.o && "
	             "cmp -s libq.a ../libq.a") == 0);
	CHECK(fx_run(model_ar, "ar", "x", "libq.a", NULL) == 0);
	CHECK_FELL_BACK("ar x reads or changes an archive now");
	CHECK(fx_run(model_ar, "ar", "d", "libq.a", "a.o", NULL) == 0);
	CHECK_FELL_BACK("ar d reads or changes an archive now");
	CHECK(fx_run(model_ar, "ar", "--version", NULL) == 0);
	CHECK_FELL_BACK("a query");
	CHECK(fx_run(model_ar, "ar", NULL) == 0);
	CHECK_FELL_BACK("no operation");
	CHECK(fx_run(model_ar, "ar", "rc", NULL) == 0);
	CHECK_FELL_BACK("no archive named");
	CHECK(fx_run(model_ar, "ar", "rc", "libr.a", "real.o", NULL) == 0);
	CHECK_FELL_BACK("no member is a placeholder");
	CHECK(access("libr.a", F_OK) != 0);
	CHECK(fx_run(model_ar, "ar", "cr", "libconftest.a", "conftest.o", NULL) == 0);
	CHECK_FELL_BACK("a configure probe");
	/* existing archives it cannot update: thin, and not an archive (the
	 * real ar then reads the member placeholder: forced first) */
	fx_write("c.c", "int c(void) { return 3; }\n");
	fx_write("d.c", "int d(void) { return 4; }\n");
	CHECK(fx_run(model_gcc, "gcc", "-c", "c.c", "d.c", NULL) == 0);
	CHECK_MODELLED();
	fx_write("thin.a", "!<thin>\n");
	CHECK(fx_run(model_ar, "ar", "rcs", "thin.a", "c.o", NULL) == 0);
	CHECK_FELL_BACK("updates a thin archive");
	CHECK(strstr(fx_ran_text, "ar rcs thin.a c.o") != NULL);
	fx_write("text.a", "not an archive\n");
	CHECK(fx_run(model_ar, "ar", "rcs", "text.a", "d.o", NULL) == 0);
	CHECK_FELL_BACK("the existing file is not an ar archive");
	char *fake = xasprintf("%s/ar", fx_real);
	CHECK(unlink(fake) == 0);
	free(fake);
	fx_free_texts();
}

static void test_ranlib(void)
{
	CHECK(fx_run(model_ranlib, "ranlib", "libd.a", NULL) == 0);
	CHECK(strstr(fx_log_text, "nothing to do") != NULL);
	CHECK(fx_is_placeholder("libd.a"));
	fx_fake_tool("ranlib", "/usr/bin/ranlib");
	CHECK(fx_run(model_ranlib, "ranlib", "libreal2.a", NULL) == 0);
	CHECK_FELL_BACK("not every archive is a placeholder");
	CHECK(strstr(fx_ran_text, "ranlib libreal2.a") != NULL);
	CHECK(fx_run(model_ranlib, "ranlib", "--plugin", "x.so", "libq.a", NULL) == 0);
	CHECK_FELL_BACK("option --plugin");
	char *fake = xasprintf("%s/ranlib", fx_real);
	CHECK(unlink(fake) == 0);
	free(fake);
	fx_free_texts();
}

TEST_MAIN(fx_setup, test_archives_of_placeholders, test_update_of_an_existing_archive,
          test_refusals_run_the_real_ar, test_ranlib, fx_teardown)
