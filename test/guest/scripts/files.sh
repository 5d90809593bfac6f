# busybox file applets on a scratch tree in $1.
mkdir -p "$1"
cd "$1" || exit 1
mkdir -p a/b/c d
echo hello > a/one; echo world > a/b/two; printf 'x\ny\nz\n' > a/b/c/three
seq 1 200 > d/numbers
ln -s ../a/one d/link
ls -la a | awk 'NR > 1 {print $1, $2, $5, $9}'
ls -R a
cat a/one a/b/two
cp -r a e; ls -R e
mv e f; ls
find a -type f | sort
find . -name 'two' | sort
grep -r o a | sort
sort -r d/numbers | head -3
wc -l d/numbers; wc -c a/one
head -2 d/numbers; tail -2 d/numbers
# Sizes depend on the file system's block allocation (tmpfs here, the
# host's /tmp natively): compare what du walks and what df reports, not
# the figures.
du -a a | cut -f2 | sort
du -s a | cut -f2
df -P . | head -1
df -P . | awk 'NR == 2 {print ($2 > 0), ($4 >= 0), ($5 ~ /%$/)}'
stat -c '%n %s %F %a' a/one a d/link
touch a/new; ls a
chmod 600 a/one; stat -c '%a' a/one
tar cf t.tar a; mkdir x; cd x; tar xf ../t.tar; find . | sort; cd ..
sed -e 's/hello/bye/' a/one
md5sum a/one a/b/two d/numbers
readlink d/link; cat d/link
rm -r f x; ls
rm a/b/two; ls a/b
