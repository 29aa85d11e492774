CREATE TABLE n1 (id integer PRIMARY KEY, x int);
----
CREATE INDEX n1_x ON n1 (x);
----
INSERT INTO n1 (nosuch) VALUES (1);
