/**
 * @file model_clang.c
 * The clang/clang++ model. Clang's plan (`clang -###`) is one `clang -cc1`
 * per source (compile and assemble in one step, with absolute resource and
 * include paths) and an ld line; it is not modelled yet, so every clang
 * command runs the real clang and says so in the infer log.
 */
#include "infer_model.h"

int model_clang(struct model_ctx *m)
{
	return model_fallback(m, "clang is not modelled yet");
}
