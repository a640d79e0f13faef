/* A thunk that really waits: sleeps MS ms, then writes "napped MS" to FILE
 * (the sandbox has no sleep unless given with gg thunk --tool). */
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
	fprintf(o, "napped %ld\n", ms);
	return fclose(o) != 0;
}
