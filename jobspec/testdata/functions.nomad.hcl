# Nomad's HCL2 function library, one call per family, results in meta.
locals {
  words = ["b", "a", "c", "a"]
  conf  = { name = "web", port = 80 }
}

job "functions" {
  meta {
    upper        = upper("web")
    format       = format("%s-%03d", "web", 7)
    formatlist   = join(",", formatlist("x%s", ["a", "b"]))
    replace      = replace("a-b-c", "-", "_")
    regex        = regex("[0-9]+", "v123")
    regex_repl   = regex_replace("a1b2", "[0-9]", "#")
    split        = length(split(",", "a,b,c"))
    substr       = substr("hello", 1, 3)
    trimspace    = trimspace("  x  ")
    title        = title("hello world")
    indent       = indent(2, "a\nb")
    chomp        = chomp("line\n")
    strrev       = strrev("abc")
    distinct     = join(",", distinct(local.words))
    sort         = join(",", sort(local.words))
    concat       = join(",", concat(["1"], ["2"]))
    contains     = contains(local.words, "c")
    element      = element(local.words, 5)
    index        = index(local.words, "c")
    flatten      = length(flatten([[1, 2], [3]]))
    keys         = join(",", keys(local.conf))
    lookup       = lookup(local.conf, "missing", "fallback")
    merge        = jsonencode(merge(local.conf, { port = 8080 }))
    range        = join(",", range(3))
    reverse      = join(",", reverse(["x", "y"]))
    slice        = join(",", slice(local.words, 1, 3))
    zipmap       = jsonencode(zipmap(["k"], ["v"]))
    setunion     = length(setunion(["a"], ["b"]))
    coalesce     = coalesce("", "first")
    compact      = join(",", compact(["a", "", "b"]))
    chunklist    = length(chunklist(local.words, 2))
    max          = max(3, 9, 1)
    min          = min(3, 9, 1)
    abs          = abs(-4)
    ceil         = ceil(1.2)
    floor        = floor(1.8)
    pow          = pow(2, 10)
    parseint     = parseint("ff", 16)
    signum       = signum(-3)
    log          = floor(log(1024, 2))
    base64encode = base64encode("nomad")
    base64decode = base64decode("bm9tYWQ=")
    jsondecode   = jsondecode("{\"a\": 1}").a
    yamlencode   = yamlencode({ a = 1 })
    yamldecode   = yamldecode("a: hello").a
    csvdecode    = csvdecode("a,b\n1,2")[0].b
    urlencode    = urlencode("a b&c")
    md5          = md5("nomad")
    sha1         = sha1("nomad")
    sha256       = sha256("nomad")
    sha512       = substr(sha512("nomad"), 0, 16)
    uuidv5       = uuidv5("dns", "example.com")
    cidrhost     = cidrhost("10.12.112.0/20", 16)
    cidrnetmask  = cidrnetmask("172.16.0.0/12")
    cidrsubnet   = cidrsubnet("10.1.2.0/24", 4, 15)
    cidrsubnets  = join(",", cidrsubnets("10.1.0.0/16", 4, 4))
    formatdate   = formatdate("YYYY-MM-DD", "2024-03-01T10:00:00Z")
    timeadd      = timeadd("2024-03-01T10:00:00Z", "90m")
    basename     = basename("/etc/nomad.d/job.hcl")
    dirname      = dirname("/etc/nomad.d/job.hcl")
    fileexists   = fileexists("testdata/functions.nomad.hcl")
    file         = trimspace(file("testdata/functions.txt"))
    tostring     = tostring(5)
    tonumber     = tonumber("5") + 1
    tobool       = tobool("true")
    tolist       = length(tolist(["a"]))
    toset        = length(toset(["a", "a"]))
    tomap        = tomap({ a = "b" }).a
    lower        = lower("WEB")
    trim         = trim("?!hello?!", "!?")
    trimprefix   = trimprefix("helloworld", "hello")
    trimsuffix   = trimsuffix("helloworld", "world")
    regexall     = length(regexall("[a-z]", "a1b2"))
    coalescelist = join(",", coalescelist([], ["x"]))
    setproduct   = length(setproduct(["a", "b"], ["1", "2"]))
    setintersect = join(",", setintersection(["a", "b"], ["b", "c"]))
    values       = join(",", values({ a = "1", b = "2" }))
    uuidv4_len   = length(uuidv4())
    pathexpand   = pathexpand("/abs/path")
    abspath      = abspath("/abs/../abs")
    fileset      = join(",", fileset("testdata", "functions.*"))
    bcrypt_len   = length(bcrypt("pw", 4))
    try          = try(local.conf.missing, "tried")
    can          = can(local.conf.missing)
    convert      = convert(5, string)
    for_expr     = join(",", [for w in local.words : upper(w) if w != "a"])
    conditional  = length(local.words) > 3 ? "many" : "few"
    splat        = join(",", [for k, v in local.conf : k])
    heredoc      = <<EOT
  kept ${local.conf.name}
EOT
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/true"
      }
    }
  }
}
