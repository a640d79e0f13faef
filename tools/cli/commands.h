/**
 * @file commands.h
 * The `gg` subcommands of tools/cli/, each main-like: (argc, argv) with
 * argv[0] the command's name; returns the exit status (gg(1)).
 */
#ifndef GG_TOOLS_CLI_COMMANDS_H
#define GG_TOOLS_CLI_COMMANDS_H

#include <stdbool.h>

int cmd_init(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_thunk(int argc, char **argv);
int cmd_force(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_gc(int argc, char **argv);
/* gg gc --remote (cmd_storage.c): uri NULL = $GG_STORAGE, grace NULL = 7d. */
int cmd_gc_remote(const char *uri, const char *grace, bool dry_run);
int cmd_fsck(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_remote_migrate(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_remote_has(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

#endif
