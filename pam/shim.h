/* The C side of pam_sessiond.so: PAM entry points and small wrappers
 * for what cgo cannot call directly (variadic pam_syslog, pointer
 * out-parameters, a cleanup callback). */
#ifndef PAM_SESSIOND_SHIM_H
#define PAM_SESSIOND_SHIM_H

#include <security/pam_modules.h>

const char *sd_item(pam_handle_t *pamh, int item, int *err);
void sd_log(pam_handle_t *pamh, int prio, const char *msg);
int sd_keep(pam_handle_t *pamh, const char *id, int fd, int existing);
int sd_kept(pam_handle_t *pamh, const char **id, int *fd, int *existing);
void sd_drop(pam_handle_t *pamh);
const char *sd_secure_getenv(const char *name);

#endif
