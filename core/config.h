/**
 * @file config.h
 * The configuration file: default values for the environment variables gg
 * and ggfs read (GG_STORAGE, GG_ENGINE, GG_S3_ENDPOINT, AWS_REGION, ...).
 *
 *     # comments and blank lines are ignored
 *     GG_STORAGE = s3://my-bucket/gg
 *     GG_ENGINE = 1000:lambda=gg-worker 2:local
 *
 * It is $GG_CONFIG if set, else $XDG_CONFIG_HOME/gg/config, else
 * ~/.config/gg/config; a missing file is fine. A variable already set in the
 * environment wins over the file, and command-line flags win over both.
 */
#ifndef GG_CONFIG_H
#define GG_CONFIG_H

/* Loads the file into the environment. -1 with an error naming file:line. */
int config_load(void);

#endif
