/* A thunk that really waits: napper MS FILE [BYTES] sleeps MS ms, then writes
 * FILE: BYTES of a fixed pattern, or the line "napped MS" (the sandbox has no
 * sleep unless given with gg thunk --tool). Deterministic output, a known run
 * time. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	long ms = atol(argv[1]);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	FILE *o = fopen(argv[2], "w");
	if (!o)
		return 3;
	if (argc > 3)
		for (long i = 0; i < atol(argv[3]); i++)
			fputc('a' + (int)(i % 26), o);
	else
		fprintf(o, "napped %ld\n", ms);
	return fclose(o) != 0;
}
