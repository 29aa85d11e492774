/*
 * hash.c - SHA-256 and SHA-384 as hex (OpenSSL's EVP), and secrets compared in
 * constant time.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/util.h"

/*
 * SHA-256, fetched from OpenSSL's providers once: EVP_sha256() makes each
 * digest look its implementation up again, which cost more than hashing a
 * migration file (34,000 instructions a file, 1,000 files a run).  Kept
 * for the life of the process.
 */
static EVP_MD *fetched;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
	fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
	pthread_once(&fetch_once, fetch);
	return fetched ? fetched : EVP_sha256();
}

static void hex_of(const unsigned char *md, unsigned n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = '\0';
}

uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void sha256_hex(const char *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE] = { 0 };
	unsigned int mdlen = 0;
	EVP_Digest(data, n, md, &mdlen, sha256(), NULL);
	hex_of(md, 32, out);
}

void sha384_hex(const char *data, size_t n, char out[97])
{
	unsigned char md[EVP_MAX_MD_SIZE] = { 0 };
	unsigned int mdlen = 0;
	EVP_Digest(data, n, md, &mdlen, EVP_sha384(), NULL);
	hex_of(md, 48, out);
}

/* Equal secrets?  Their digests are compared with CRYPTO_memcmp, so the
 * time taken tells nothing of where they differ, nor of their lengths. */
int dbs_secret_equal(const char *a, const char *b)
{
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int na = 0, nb = 0;
	if (!EVP_Digest(a, strlen(a), da, &na, sha256(), NULL) ||
	    !EVP_Digest(b, strlen(b), db, &nb, sha256(), NULL) || na != nb)
		return 0;
	return CRYPTO_memcmp(da, db, na) == 0;
}

int sha256_path(const char *path, char out[65], int64_t *size)
{
	/* streamed: a dump can be any size */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, sha256(), NULL);
	char *buf = xmalloc(1 << 20);
	ssize_t n;
	int64_t total = 0;
	while ((n = read(fd, buf, 1 << 20)) > 0) {
		EVP_DigestUpdate(h, buf, (size_t)n);
		total += n;
	}
	unsigned char md[EVP_MAX_MD_SIZE] = { 0 };
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(h, md, &mdlen);
	hex_of(md, 32, out);
	EVP_MD_CTX_free(h);
	free(buf);
	close(fd);
	if (n < 0)
		return -1;
	if (size)
		*size = total;
	return 0;
}
