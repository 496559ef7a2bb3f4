/* SPDX-License-Identifier: Apache-2.0 */
/* page: the HTML of darkdaq-mon's web view, one self-contained document. */
#ifndef DARKDAQ_MON_PAGE_H
#define DARKDAQ_MON_PAGE_H

extern const char page_html[];

#endif
