/*
 * seal.c - files encrypted at rest: AES-256-GCM (OpenSSL's EVP), streamed.
 *
 * A sealed file is "DBSHENC1", a random 12-byte nonce, the ciphertext and
 * the 16-byte tag.  The authenticated data is the magic, the nonce and the
 * name the caller binds the file to (its path in the backup), so a file
 * swapped for another, cut short or changed anywhere does not open.  Both
 * the plaintext's and the sealed file's SHA-256 are computed on the way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/util.h"

#define MAGIC "DBSHENC1"
#define NONCE 12
#define TAG 16
#define CHUNK 65536

static void hex(const unsigned char *md, char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

int seal_key_load(const char *path, unsigned char key[32], dbs_error *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		dbs_fail(err, DBS_EINPUT, "cannot read backup_key_file '%s': %s", path,
			 strerror(errno));
		dbs_error_set_hint(err, "make one with 'openssl rand -hex 32 > %s; chmod 600 %s'",
				   path, path);
		return DBS_EINPUT;
	}
	if (st.st_mode & 077) {
		dbs_fail(err, DBS_EINPUT, "backup_key_file '%s' can be read by others (mode %04o)",
			 path, (unsigned)(st.st_mode & 07777));
		dbs_error_set_hint(err, "chmod 600 %s", path);
		return DBS_EINPUT;
	}
	char *text;
	size_t len;
	if (read_file(path, &text, &len) < 0) {
		dbs_fail(err, DBS_EINPUT, "cannot read backup_key_file '%s': %s", path,
			 strerror(errno));
		return DBS_EINPUT;
	}
	size_t n = len;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	int rc = 0;
	if (len == 32) {
		memcpy(key, text, 32);
	} else if (n == 64 && strspn(text, "0123456789abcdefABCDEF") == 64) {
		for (int i = 0; i < 32; i++) {
			char b[3] = { text[2 * i], text[2 * i + 1], 0 };
			key[i] = (unsigned char)strtoul(b, NULL, 16);
		}
	} else {
		rc = dbs_fail(err, DBS_EINPUT, "backup_key_file '%s' does not hold a 32-byte key",
			      path);
		dbs_error_set_hint(err, "write 32 random bytes, raw or as 64 hex digits: "
				   "'openssl rand -hex 32 > %s'", path);
	}
	explicit_bzero(text, len);
	free(text);
	return rc;
}

/* Authenticate the magic, the nonce and the name. */
static int add_aad(EVP_CIPHER_CTX *c, const unsigned char *nonce, const char *name)
{
	int out;
	return EVP_CipherUpdate(c, NULL, &out, (const unsigned char *)MAGIC, 8) &&
	       EVP_CipherUpdate(c, NULL, &out, nonce, NONCE) &&
	       EVP_CipherUpdate(c, NULL, &out, (const unsigned char *)name, (int)strlen(name));
}

struct sealer {
	FILE *fo;
	char *out;
	EVP_CIPHER_CTX *c;
	EVP_MD_CTX *hp, *hc;
	unsigned char *enc;
	seal_sums sums;
	int ok, saved_errno;
};

sealer *seal_begin(const unsigned char key[32], const char *out, const char *name)
{
	sealer *s = xcalloc(1, sizeof(*s));
	unsigned char nonce[NONCE];
	s->out = xstrdup(out);
	s->enc = xmalloc(CHUNK + 32);
	s->fo = fopen(out, "wb");
	s->c = EVP_CIPHER_CTX_new();
	s->hp = EVP_MD_CTX_new();
	s->hc = EVP_MD_CTX_new();
	s->ok = s->fo && s->c && s->hp && s->hc && RAND_bytes(nonce, NONCE) == 1 &&
		EVP_DigestInit_ex(s->hp, EVP_sha256(), NULL) &&
		EVP_DigestInit_ex(s->hc, EVP_sha256(), NULL) &&
		EVP_EncryptInit_ex(s->c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
		EVP_CIPHER_CTX_ctrl(s->c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) &&
		EVP_EncryptInit_ex(s->c, NULL, NULL, key, nonce) && add_aad(s->c, nonce, name) &&
		fwrite(MAGIC, 1, 8, s->fo) == 8 && fwrite(nonce, 1, NONCE, s->fo) == NONCE &&
		EVP_DigestUpdate(s->hc, MAGIC, 8) && EVP_DigestUpdate(s->hc, nonce, NONCE);
	s->sums.sealed_size = 8 + NONCE;
	if (!s->ok)
		s->saved_errno = errno;
	return s;
}

int seal_write(sealer *s, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	while (s->ok && n) {
		size_t k = n > CHUNK ? CHUNK : n;
		int m = 0;
		s->ok = EVP_DigestUpdate(s->hp, p, k) &&
			EVP_EncryptUpdate(s->c, s->enc, &m, p, (int)k) &&
			fwrite(s->enc, 1, (size_t)m, s->fo) == (size_t)m &&
			EVP_DigestUpdate(s->hc, s->enc, (size_t)m);
		if (!s->ok)
			s->saved_errno = errno;
		s->sums.plain_size += (int64_t)k;
		s->sums.sealed_size += m;
		p += k;
		n -= k;
	}
	return s->ok ? 0 : -1;
}

static void sealer_free(sealer *s)
{
	if (s->fo)
		fclose(s->fo);
	explicit_bzero(s->enc, CHUNK + 32);
	free(s->enc);
	EVP_CIPHER_CTX_free(s->c);
	EVP_MD_CTX_free(s->hp);
	EVP_MD_CTX_free(s->hc);
	free(s->out);
	free(s);
}

void seal_abort(sealer *s)
{
	if (!s)
		return;
	remove(s->out);
	sealer_free(s);
}

int seal_end(sealer *s, seal_sums *sums, dbs_error *err)
{
	unsigned char tag[TAG], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int m = 0, ok = s->ok && EVP_EncryptFinal_ex(s->c, s->enc, &m) &&
		fwrite(s->enc, 1, (size_t)m, s->fo) == (size_t)m &&
		EVP_DigestUpdate(s->hc, s->enc, (size_t)m) &&
		EVP_CIPHER_CTX_ctrl(s->c, EVP_CTRL_GCM_GET_TAG, TAG, tag) &&
		fwrite(tag, 1, TAG, s->fo) == TAG && EVP_DigestUpdate(s->hc, tag, TAG);
	int e = s->ok ? errno : s->saved_errno;
	s->sums.sealed_size += m + TAG;
	if (ok && EVP_DigestFinal_ex(s->hp, md, &mdlen))
		hex(md, s->sums.plain_sha256);
	if (ok && EVP_DigestFinal_ex(s->hc, md, &mdlen))
		hex(md, s->sums.sealed_sha256);
	FILE *fo = s->fo;
	s->fo = NULL;
	if (fo && fclose(fo) != 0 && ok) {
		ok = 0;
		e = errno;
	}
	*sums = s->sums;
	if (!ok) {
		dbs_fail(err, DBS_EFAIL, "cannot write the encrypted '%s'%s%s", s->out,
			 e ? ": " : "", e ? strerror(e) : "");
		seal_abort(s);
		return DBS_EFAIL;
	}
	sealer_free(s);
	return 0;
}

int seal_open(const unsigned char key[32], const char *in, const char *out, const char *name,
	      char plain_sha256[65], dbs_error *err)
{
	FILE *fi = fopen(in, "rb"), *fo = NULL;
	if (!fi)
		return dbs_fail(err, DBS_EFAIL, "cannot read '%s': %s", in, strerror(errno));
	struct stat st;
	unsigned char head[8 + NONCE], tag[TAG], *buf = xmalloc(CHUNK), *dec = xmalloc(CHUNK + 32);
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_MD_CTX *hp = EVP_MD_CTX_new();
	int rc = 0, ok = 1;
	if (fstat(fileno(fi), &st) < 0 || st.st_size < (off_t)(sizeof(head) + TAG) ||
	    fread(head, 1, sizeof(head), fi) != sizeof(head) || memcmp(head, MAGIC, 8)) {
		rc = dbs_fail(err, DBS_EFAIL, "'%s' is not a file dbshift encrypted", in);
		goto out;
	}
	if (out && !(fo = fopen(out, "wb"))) {
		rc = dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", out, strerror(errno));
		goto out;
	}
	ok = c && hp && EVP_DigestInit_ex(hp, EVP_sha256(), NULL) &&
	     EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) &&
	     EVP_DecryptInit_ex(c, NULL, NULL, key, head + 8) && add_aad(c, head + 8, name);
	int64_t left = (int64_t)st.st_size - (int64_t)sizeof(head) - TAG;
	while (ok && left > 0) {
		size_t want = left > CHUNK ? CHUNK : (size_t)left;
		int m = 0;
		ok = fread(buf, 1, want, fi) == want && EVP_DecryptUpdate(c, dec, &m, buf, (int)want) &&
		     EVP_DigestUpdate(hp, dec, (size_t)m) &&
		     (!fo || fwrite(dec, 1, (size_t)m, fo) == (size_t)m);
		left -= (int64_t)want;
	}
	ok = ok && fread(tag, 1, TAG, fi) == TAG &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag);
	int m = 0;
	if (ok && EVP_DecryptFinal_ex(c, dec, &m) <= 0) {
		rc = dbs_fail(err, DBS_EFAIL, "'%s' does not open with the key of backup_key_file: "
			      "a wrong key, or the file was changed", in);
		dbs_error_set_hint(err, "use the key the backup was taken with; never restore a file "
				   "that does not open");
		goto out;
	}
	unsigned int mdlen = 0;
	if (ok && EVP_DigestFinal_ex(hp, md, &mdlen))
		hex(md, plain_sha256);
	if (!ok)
		rc = dbs_fail(err, DBS_EFAIL, "cannot decrypt '%s'", in);
out:
	if (fo && fclose(fo) != 0 && !rc)
		rc = dbs_fail(err, DBS_EFAIL, "cannot write '%s': %s", out, strerror(errno));
	if (rc && out)
		remove(out);
	fclose(fi);
	explicit_bzero(dec, CHUNK + 32);
	free(buf);
	free(dec);
	EVP_CIPHER_CTX_free(c);
	EVP_MD_CTX_free(hp);
	return rc;
}
