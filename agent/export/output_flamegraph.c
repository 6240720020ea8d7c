/* SPDX-License-Identifier: BSD-2-Clause */
/* Folded stacks and the self-contained HTML flame graph: the call tree is merged in C and
 * embedded as compact JSON; a small canvas renderer draws it offline. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/lru_cache.h"
#include "util/utf8.h"
#include "export/output_flamegraph.h"

#define MAX_DEPTH 1024

static int put_sanitized(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		if (putc(c, out) == EOF)
			return -EIO;
	}
	return 0;
}

int folded_write(FILE *out, const struct folded_stack *stacks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < stacks[i].nframes; j++) {
			if ((j && putc(';', out) == EOF) || put_sanitized(out, stacks[i].frames[j]))
				return -EIO;
		}
		if (fprintf(out, " %llu\n", (unsigned long long)stacks[i].count) < 0)
			return -EIO;
	}
	return ferror(out) ? -EIO : 0;
}

/* Call tree: children in a singly linked list, merged by interned name index. */
struct node {
	uint32_t name;
	uint32_t first_child, next_sibling; /* node indices, 0 = none (0 is the root) */
	uint64_t value;
	long file;     /* interned file name, -1 when unknown */
	uint32_t line; /* of the first stack through the node */
	bool more;     /* other stacks through it were at other lines */
	bool inlined;  /* inlined into its parent in some stack */
};

struct tree {
	struct node *nodes;
	size_t n, cap;
	const char **names; /* interned, borrowed from the input */
	size_t nnames, names_cap;
	uint32_t *h; /* open addressing over names: index + 1 */
	size_t hcap;
};

static long intern(struct tree *t, const char *s)
{
	uint64_t hv = hash_bytes(s, strlen(s), 9);
	size_t i;

	if ((t->nnames + 1) * 2 > t->hcap) {
		size_t nc = t->hcap ? t->hcap * 2 : 1024;
		uint32_t *nh = calloc(nc, sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		for (size_t k = 0; k < t->nnames; k++) {
			size_t j = hash_bytes(t->names[k], strlen(t->names[k]), 9) & (nc - 1);

			while (nh[j])
				j = (j + 1) & (nc - 1);
			nh[j] = (uint32_t)k + 1;
		}
		free(t->h);
		t->h = nh;
		t->hcap = nc;
	}
	for (i = hv & (t->hcap - 1); t->h[i]; i = (i + 1) & (t->hcap - 1))
		if (!strcmp(t->names[t->h[i] - 1], s))
			return t->h[i] - 1;
	if (ARRAY_RESERVE(t->names, t->names_cap, t->nnames + 1))
		return -ENOMEM;
	t->names[t->nnames] = s;
	t->h[i] = (uint32_t)t->nnames + 1;
	return (long)t->nnames++;
}

static long child(struct tree *t, uint32_t parent, uint32_t name)
{
	uint32_t c = t->nodes[parent].first_child;

	for (; c; c = t->nodes[c].next_sibling)
		if (t->nodes[c].name == name)
			return c;
	if (ARRAY_RESERVE(t->nodes, t->cap, t->n + 1))
		return -ENOMEM;
	t->nodes[t->n] = (struct node){ name, 0, t->nodes[parent].first_child, 0, -1, 0 };
	t->nodes[parent].first_child = (uint32_t)t->n;
	return (long)t->n++;
}

/* Where frame j of st was: the first stack through a node names its file:line, later ones
 * at another line only say there were more. */
static int note_source(struct tree *t, struct node *nd, const struct folded_stack *st, size_t j)
{
	const char *file = st->files && st->files[j] ? st->files[j] : "";
	uint32_t line = st->lines ? st->lines[j] : 0;
	long f = -1;

	if (st->inlined && st->inlined[j])
		nd->inlined = true;
	if (!*file && !line)
		return 0;
	f = intern(t, file);
	if (f < 0)
		return (int)f;
	if (nd->file < 0 && !nd->line) {
		nd->file = f;
		nd->line = line;
	} else if (nd->file != f || nd->line != line) {
		nd->more = true;
	}
	return 0;
}

static int build_tree(struct tree *t, const struct folded_stack *stacks, size_t n)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->cap = 1024;
	t->nodes = calloc(t->cap, sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	t->n = 1; /* root */
	t->nodes[0].file = -1;
	for (size_t i = 0; i < n; i++) {
		uint32_t cur = 0;

		t->nodes[0].value += stacks[i].count;
		for (size_t j = 0; j < stacks[i].nframes && j < MAX_DEPTH; j++) {
			long nm = intern(t, stacks[i].frames[j]), c;

			if (nm < 0)
				return (int)nm;
			c = child(t, cur, (uint32_t)nm);
			if (c < 0)
				return (int)c;
			cur = (uint32_t)c;
			t->nodes[cur].value += stacks[i].count;
			err = note_source(t, &t->nodes[cur], &stacks[i], j);
			if (err)
				return err;
		}
	}
	return 0;
}

/* JSON string: quotes, backslashes and controls escaped, '<' and '>' as \u escapes so a name
 * can never close the <script>, invalid UTF-8 replaced with U+FFFD. */
static int put_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc('"', out);
	while (*p) {
		unsigned char c = *p;
		size_t len = utf8_seq_len(p, strnlen((const char *)p, 4));

		if (!len) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		if (len > 1) {
			fwrite(p, 1, (size_t)len, out);
			p += len;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
		p++;
	}
	putc('"', out);
	return ferror(out) ? -EIO : 0;
}

/* Nodes as a flat array [name, value, parent, ...] in depth-first order: no recursion in C
 * or in the page's JSON parser; then, in the same order, "src": [file name index or -1,
 * line, more] per node and "inl": 1 for inlined frames. */
static int put_tree(FILE *out, const struct tree *t)
{
	uint32_t *stack = malloc((t->n + 1) * sizeof(*stack)), *parent_of;
	uint32_t *order_idx, *order;
	size_t sp = 0, emitted = 0;

	parent_of = calloc(t->n + 1, sizeof(*parent_of));
	order_idx = calloc(t->n + 1, sizeof(*order_idx));
	order = calloc(t->n + 1, sizeof(*order));
	if (!stack || !parent_of || !order_idx || !order) {
		free(stack);
		free(parent_of);
		free(order_idx);
		free(order);
		return -ENOMEM;
	}
	stack[sp++] = 0;
	fputs("[", out);
	while (sp) {
		uint32_t cur = stack[--sp];

		order[emitted] = cur;
		order_idx[cur] = (uint32_t)emitted;
		fprintf(out, "%s%u,%llu,%ld", emitted ? "," : "", cur ? t->nodes[cur].name : 0,
			(unsigned long long)t->nodes[cur].value,
			cur ? (long)order_idx[parent_of[cur]] : -1L);
		emitted++;
		for (uint32_t c = t->nodes[cur].first_child; c; c = t->nodes[c].next_sibling) {
			parent_of[c] = cur;
			stack[sp++] = c;
		}
	}
	fputs("],\"src\":[", out);
	for (size_t i = 0; i < emitted; i++) {
		const struct node *nd = &t->nodes[order[i]];

		fprintf(out, "%s%ld,%u,%d", i ? "," : "", nd->file, nd->line, nd->more);
	}
	fputs("],\"inl\":[", out);
	for (size_t i = 0; i < emitted; i++)
		fprintf(out, "%s%d", i ? "," : "", t->nodes[order[i]].inlined);
	fputs("]", out);
	free(stack);
	free(parent_of);
	free(order_idx);
	free(order);
	return ferror(out) ? -EIO : 0;
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n<title>";

static const char page_style[] =
    "</title>\n<style>\n"
    "body{margin:0;font:12px system-ui,sans-serif;background:#fff;color:#222}\n"
    "header{padding:8px 12px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}\n"
    "h1{font-size:16px;margin:0}#sub{color:#666}\n"
    "#search{padding:3px 6px;width:220px}#matched{color:#a0522d}\n"
    "#reset{cursor:pointer}canvas{display:block;cursor:pointer}\n"
    "#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:4px 8px;"
    "border-radius:4px;font-size:12px;display:none;max-width:70vw;word-break:break-all}\n"
    "</style></head><body>\n<header><h1 id=\"title\"></h1><span id=\"sub\"></span>"
    "<input id=\"search\" placeholder=\"Search (regex)\" aria-label=\"search\">"
    "<span id=\"matched\"></span><button id=\"reset\">Reset zoom</button></header>\n"
    "<canvas id=\"fg\"></canvas><div id=\"tip\"></div>\n<script>\n";

/* Renderer: an icicle graph (root on top, callees below, as in Pyroscope's and speedscope's
 * views), width proportional to samples; clicking a frame makes it the full-width top row. */
static const char page_script[] =
    "const D=/*STOKER_DATA_BEGIN*/%s/*STOKER_DATA_END*/;\n"
    "const names=D.names,raw=D.nodes,N=raw.length/3;\n"
    "const nm=new Int32Array(N),val=new Float64Array(N),par=new Int32Array(N),"
    "dep=new Int32Array(N),x0=new Float64Array(N),kids=Array.from({length:N},()=>[]);\n"
    "for(let i=0;i<N;i++){nm[i]=raw[3*i];val[i]=raw[3*i+1];par[i]=raw[3*i+2];"
    "if(i){dep[i]=dep[par[i]]+1;kids[par[i]].push(i);}}\n"
    "const label=i=>i?names[nm[i]]:'all',src=D.src,inl=D.inl;\n"
    "const where=i=>src[3*i]<0&&!src[3*i+1]?'':' at '+(src[3*i]<0?'?':names[src[3*i]])+"
    "(src[3*i+1]?':'+src[3*i+1]:'')+(src[3*i+2]?' (and other lines)':'');\n"
    "for(let i=0;i<N;i++){let x=x0[i];kids[i].sort((a,b)=>label(a)<label(b)?-1:1);"
    "for(const c of kids[i]){x0[c]=x;x+=val[c];}}\n"
    "const total=val[0]||1,H=18,cv=document.getElementById('fg'),ctx=cv.getContext('2d'),"
    "tip=document.getElementById('tip');\n"
    "document.getElementById('title').textContent=D.title;"
    "document.getElementById('sub').textContent=D.subtitle;\n"
    "let zoom=0,re=null,vis=[];\n"
    "function color(i){if(re&&re.test(label(i)))return'#d63384';if(!i)return'#cfcfcf';"
    "let h=0;const s=label(i);for(let k=0;k<s.length;k++)h=(h*31+s.charCodeAt(k))>>>0;"
    "return'hsl('+(h%%55)+(inl[i]?',45%%,'+(78+(h>>>8)%%10):',85%%,'+(58+(h>>>8)%%18))+"
    "'%%)';}\n"
    "function draw(){const W=Math.max(document.documentElement.clientWidth-2,300);"
    "vis=[];let maxd=0;const st=[zoom];while(st.length){const i=st.pop();"
    "const w=val[i]/val[zoom]*W;if(w<0.4)continue;const d=dep[i]-dep[zoom];"
    "vis.push([i,(x0[i]-x0[zoom])/val[zoom]*W,w,d]);if(d>maxd)maxd=d;"
    "for(const c of kids[i])st.push(c);}\n"
    "cv.width=W;cv.height=(maxd+1)*H+2;ctx.font='12px sans-serif';"
    "ctx.textBaseline='middle';for(const[i,x,w,d]of vis){const y=d*H;"
    "ctx.fillStyle=color(i);ctx.fillRect(x,y,Math.max(w-0.5,0.5),H-1);if(w>28){"
    "ctx.fillStyle='#111';const t=label(i),m=Math.floor((w-6)/7);"
    "ctx.fillText(t.length>m?t.slice(0,Math.max(m-1,1))+'\\u2026':t,x+3,y+H/2);}}}\n"
    "function at(ev){const r=cv.getBoundingClientRect(),mx=ev.clientX-r.left,"
    "d=Math.floor((ev.clientY-r.top)/H);for(const[i,x,w,dd]of vis)"
    "if(dd===d&&mx>=x&&mx<x+w)return i;return -1;}\n"
    "cv.onmousemove=ev=>{const i=at(ev);if(i<0){tip.style.display='none';return;}"
    "tip.textContent=label(i)+where(i)+(inl[i]?' [inlined]':'')+' \\u2014 '+val[i]+"
    "' samples, '+(100*val[i]/total)."
    "toFixed(2)+'%% of all'+(zoom?', '+(100*val[i]/val[zoom]).toFixed(2)+'%% of zoom':'');"
    "tip.style.display='block';tip.style.left=Math.min(ev.clientX+12,"
    "window.innerWidth-320)+'px';tip.style.top=(ev.clientY+14)+'px';};\n"
    "cv.onmouseleave=()=>tip.style.display='none';\n"
    "cv.onclick=ev=>{const i=at(ev);if(i>=0){zoom=i===zoom?par[i]<0?0:par[i]:i;draw();}};\n"
    "document.getElementById('reset').onclick=()=>{zoom=0;draw();};\n"
    "document.getElementById('search').oninput=ev=>{const q=ev.target.value;"
    "try{re=q?new RegExp(q):null;}catch(e){re=null;}let m=0;if(re){"
    "for(let i=1;i<N;i++){if(!re.test(label(i)))continue;let anc=false;"
    "for(let p=par[i];p>0;p=par[p])if(re.test(label(p))){anc=true;break;}if(!anc)m+=val[i];}}"
    "document.getElementById('matched').textContent=re?'matched: '+(100*m/total)."
    "toFixed(2)+'%%':'';draw();};\n"
    "window.onresize=draw;draw();\n"
    "</script></body></html>\n";

int flamegraph_write_html(FILE *out, const struct folded_stack *stacks, size_t n,
			  const struct flamegraph_opts *opts)
{
	const char *title = opts && opts->title ? opts->title : "Flame graph";
	const char *sub = opts && opts->subtitle ? opts->subtitle : "";
	char *json = NULL;
	size_t json_len = 0;
	FILE *js = NULL;
	struct tree t;
	int err;

	err = build_tree(&t, stacks, n);
	if (err)
		goto out;
	js = open_memstream(&json, &json_len);
	if (!js) {
		err = -ENOMEM;
		goto out;
	}
	fputs("{\"title\":", js);
	put_json_string(js, title);
	fputs(",\"subtitle\":", js);
	put_json_string(js, sub);
	fputs(",\"names\":[", js);
	for (size_t i = 0; i < t.nnames; i++) {
		if (i)
			putc(',', js);
		put_json_string(js, t.names[i]);
	}
	fputs("],\"nodes\":", js);
	err = put_tree(js, &t);
	fputs("}", js);
	if (fclose(js) && !err)
		err = -ENOMEM;
	js = NULL;
	if (err)
		goto out;
	fputs(page_head, out);
	/* the <title> gets the same escaping rules as HTML text */
	for (const char *p = title; *p; p++) {
		if (*p == '<')
			fputs("&lt;", out);
		else if (*p == '&')
			fputs("&amp;", out);
		else if (*p == '>')
			fputs("&gt;", out);
		else
			putc(*p, out);
	}
	fputs(page_style, out);
	fprintf(out, page_script, json);
	err = ferror(out) || fflush(out) ? -EIO : 0;
out:
	free(json);
	free(t.nodes);
	free(t.names);
	free(t.h);
	return err;
}
